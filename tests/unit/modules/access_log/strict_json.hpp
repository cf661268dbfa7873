#pragma once
// A tiny strict JSON (RFC 8259) parser for tests: the whole text must be exactly one value
// (surrounding whitespace allowed), strings must be valid UTF-8 without raw control characters,
// escapes and numbers must follow the grammar, and objects must not repeat a key. Returns the
// parsed value, or an error naming the byte offset. Shared by the unit and integration tests.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace serverd::test::json {

struct Value {
  enum class Type { null, boolean, number, string, array, object } type = Type::null;
  bool boolean = false;
  std::string text;  // strings: decoded UTF-8; numbers: as written
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> members;

  const Value* find(std::string_view key) const {
    for (const auto& [k, v] : members)
      if (k == key) return &v;
    return nullptr;
  }
  bool is_null() const { return type == Type::null; }
  bool is_string() const { return type == Type::string; }
  bool is_number() const { return type == Type::number; }
};

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  std::optional<Value> parse(std::string* error) {
    skip_ws();
    Value v;
    if (!value(v, 0)) return fail(error);
    skip_ws();
    if (i_ != s_.size()) {
      err_ = "trailing characters";
      return fail(error);
    }
    return v;
  }

 private:
  std::optional<Value> fail(std::string* error) {
    if (error) *error = err_ + " at byte " + std::to_string(i_);
    return std::nullopt;
  }
  bool bad(const char* what) {
    err_ = what;
    return false;
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return bad("invalid literal");
    i_ += word.size();
    return true;
  }
  bool value(Value& v, int depth) {
    if (depth > 64) return bad("nesting too deep");
    if (i_ >= s_.size()) return bad("unexpected end");
    const char c = s_[i_];
    if (c == '{') return object(v, depth);
    if (c == '[') return array(v, depth);
    if (c == '"') {
      v.type = Value::Type::string;
      return string(v.text);
    }
    if (c == 't' || c == 'f') {
      v.type = Value::Type::boolean;
      v.boolean = c == 't';
      return literal(c == 't' ? "true" : "false");
    }
    if (c == 'n') {
      v.type = Value::Type::null;
      return literal("null");
    }
    v.type = Value::Type::number;
    return number(v.text);
  }
  bool object(Value& v, int depth) {
    v.type = Value::Type::object;
    ++i_;
    skip_ws();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != '"') return bad("expected a member name");
      std::string key;
      if (!string(key)) return false;
      if (v.find(key)) return bad("duplicate member name");
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != ':') return bad("expected ':'");
      ++i_;
      skip_ws();
      Value member;
      if (!value(member, depth + 1)) return false;
      v.members.emplace_back(std::move(key), std::move(member));
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        return true;
      }
      return bad("expected ',' or '}'");
    }
  }
  bool array(Value& v, int depth) {
    v.type = Value::Type::array;
    ++i_;
    skip_ws();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return true;
    }
    for (;;) {
      skip_ws();
      Value item;
      if (!value(item, depth + 1)) return false;
      v.items.push_back(std::move(item));
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return true;
      }
      return bad("expected ',' or ']'");
    }
  }
  static bool digit(char c) { return c >= '0' && c <= '9'; }
  bool number(std::string& out) {
    const std::size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ >= s_.size() || !digit(s_[i_])) return bad("invalid value");
    if (s_[i_] == '0') {
      ++i_;
    } else {
      while (i_ < s_.size() && digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (i_ >= s_.size() || !digit(s_[i_])) return bad("digit expected after '.'");
      while (i_ < s_.size() && digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (i_ >= s_.size() || !digit(s_[i_])) return bad("digit expected in exponent");
      while (i_ < s_.size() && digit(s_[i_])) ++i_;
    }
    out.assign(s_.substr(start, i_ - start));
    return true;
  }
  static void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  bool hex4(std::uint32_t& out) {
    if (i_ + 4 > s_.size()) return bad("short \\u escape");
    out = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        out |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        out |= static_cast<std::uint32_t>(c - 'A' + 10);
      else
        return bad("invalid hex digit in \\u escape");
    }
    return true;
  }
  // Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF): copies one sequence.
  bool utf8(std::string& out) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s_[k]); };
    const unsigned char c = b(i_);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
      n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return bad("invalid UTF-8 lead byte");
    }
    if (i_ + n > s_.size()) return bad("truncated UTF-8 sequence");
    if (b(i_ + 1) < lo || b(i_ + 1) > hi) return bad("invalid UTF-8 sequence");
    for (std::size_t k = 2; k < n; ++k)
      if ((b(i_ + k) & 0xC0) != 0x80) return bad("invalid UTF-8 continuation byte");
    out.append(s_.substr(i_, n));
    i_ += n;
    return true;
  }
  bool string(std::string& out) {
    ++i_;  // opening quote
    for (;;) {
      if (i_ >= s_.size()) return bad("unterminated string");
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return bad("raw control character in a string");
      if (c >= 0x80) {
        if (!utf8(out)) return false;
        continue;
      }
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        ++i_;
        continue;
      }
      if (++i_ >= s_.size()) return bad("unterminated escape");
      const char e = s_[i_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low = 0;
            if (s_.substr(i_, 2) != "\\u") return bad("lone high surrogate");
            i_ += 2;
            if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return bad("invalid low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return bad("lone low surrogate");
          }
          put_utf8(out, cp);
          break;
        }
        default:
          return bad("invalid escape");
      }
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string err_;
};

inline std::optional<Value> parse(std::string_view text, std::string* error = nullptr) {
  return Parser(text).parse(error);
}

}  // namespace serverd::test::json
