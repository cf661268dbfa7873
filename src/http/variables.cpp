#include "http/variables.hpp"

#include "http/variable_table.hpp"

namespace serverd {
namespace {

constexpr std::string_view kHttpPrefix = "http_";

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// One scanner for both compilers. `strict` (the access log): every variable is known and the
// first bad reference fails the template. Otherwise a bad reference is literal text: its '$'
// is copied and scanning resumes right after it, so "$$uri" still expands its second reference.
bool compile_into(std::string_view tmpl, bool strict, CompiledTemplate& out, TemplateError* error) {
  std::string literal;
  auto flush_literal = [&] {
    if (literal.empty()) return;
    out.segments.push_back(TemplateSegment{VarId::literal, std::move(literal)});
    literal.clear();
  };
  std::size_t i = 0;
  while (i < tmpl.size()) {
    const std::size_t dollar = tmpl.find('$', i);
    if (dollar == std::string_view::npos) {
      literal.append(tmpl.substr(i));
      break;
    }
    literal.append(tmpl.substr(i, dollar - i));
    std::size_t begin = dollar + 1;
    std::size_t end = begin;
    std::size_t next = 0;  // where scanning resumes after the reference
    std::optional<TemplateError> problem;
    if (begin < tmpl.size() && tmpl[begin] == '{') {
      ++begin;
      const std::size_t close = tmpl.find('}', begin);
      if (close == std::string_view::npos) {
        problem = TemplateError{dollar, "unterminated \"${\""};
      } else {
        end = close;
        next = close + 1;
        for (std::size_t k = begin; k < end && !problem; ++k)
          if (!is_name_char(tmpl[k]))
            problem = TemplateError{k, "invalid character in a variable name"};
      }
    } else {
      while (end < tmpl.size() && is_name_char(tmpl[end])) ++end;
      next = end;
    }
    TemplateSegment seg;
    if (!problem) {
      const std::string_view name = tmpl.substr(begin, end - begin);
      if (name.empty()) {
        problem =
            TemplateError{dollar, "\"$\" must be followed by a variable name (e.g. $remote_addr)"};
      } else if (name.starts_with(kHttpPrefix) && name.size() > kHttpPrefix.size()) {
        seg =
            TemplateSegment{VarId::http_header, fold_header_name(name.substr(kHttpPrefix.size()))};
      } else if (auto id = find_variable(name, strict)) {
        seg.var = *id;
      } else {
        problem = TemplateError{dollar, "unknown variable \"$" + std::string(name) + "\""};
      }
    }
    if (problem) {
      if (strict) {
        if (error) *error = std::move(*problem);
        return false;
      }
      literal.push_back('$');
      i = dollar + 1;
      continue;
    }
    flush_literal();
    out.segments.push_back(std::move(seg));
    i = next;
  }
  flush_literal();
  return true;
}

}  // namespace

CompiledTemplate compile_template(std::string_view tmpl) {
  CompiledTemplate out;
  compile_into(tmpl, false, out, nullptr);
  return out;
}

std::optional<CompiledTemplate> compile_log_template(std::string_view tmpl, TemplateError* error) {
  CompiledTemplate out;
  if (!compile_into(tmpl, true, out, error)) return std::nullopt;
  return out;
}

void evaluate(const CompiledTemplate& tmpl, const VariableContext& ctx, std::string& out) {
  for (const TemplateSegment& seg : tmpl.segments) append_segment(seg, ctx, out);
}

std::string evaluate(const CompiledTemplate& tmpl, const VariableContext& ctx) {
  std::string out;
  evaluate(tmpl, ctx, out);
  return out;
}

std::string expand_variables(std::string_view tmpl, const Request& request) {
  return evaluate(compile_template(tmpl), VariableContext{request});
}

}  // namespace serverd
