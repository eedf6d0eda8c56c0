// Parser for create_immv's name argument (see include/ivmx/core/immv_name.hpp).
#include "ivmx/core/immv_name.hpp"

#include <cctype>

#include "ivmx/core/error.hpp"

namespace ivmx::core {

namespace {

class NameScanner {
  public:
    explicit NameScanner(const std::string& text) : text_(text) {}

    void SkipSpace() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    }
    bool AtEnd() {
        SkipSpace();
        return pos_ >= text_.size();
    }
    bool Accept(char c) {
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    // Reads one identifier, quoted or not.
    std::string Identifier() {
        SkipSpace();
        if (pos_ >= text_.size()) Fail("identifier expected at end of name");
        std::string ident = text_[pos_] == '"' ? Quoted() : Unquoted();
        if (ident.size() > kMaxIdentifierLength)
            throw Error(sqlstate::kNameTooLong, "identifier \"" + ident + "\" is too long",
                        "Identifiers are limited to 63 bytes.");
        return ident;
    }

    [[noreturn]] void Fail(const std::string& what) const {
        throw Error(sqlstate::kInvalidName, "invalid IMMV name \"" + text_ + "\"", what + ".",
                    "Write the name as [schema.]name[(column, ...)], double-quoting identifiers "
                    "that need it.");
    }

  private:
    std::string Quoted() {
        std::string out;
        ++pos_;  // opening quote
        while (true) {
            if (pos_ >= text_.size()) Fail("unterminated quoted identifier");
            char c = text_[pos_++];
            if (c == '"') {
                if (pos_ < text_.size() && text_[pos_] == '"') {
                    out.push_back('"');
                    ++pos_;
                    continue;
                }
                break;
            }
            out.push_back(c);
        }
        if (out.empty()) Fail("zero-length quoted identifier");
        return out;
    }

    static bool IsIdentStart(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
    static bool IsIdentChar(unsigned char c) { return IsIdentStart(c) || std::isdigit(c) || c == '$'; }

    std::string Unquoted() {
        unsigned char first = static_cast<unsigned char>(text_[pos_]);
        if (!IsIdentStart(first)) Fail(std::string("unexpected character \"") + text_[pos_] + "\"");
        std::string out;
        while (pos_ < text_.size() && IsIdentChar(static_cast<unsigned char>(text_[pos_]))) {
            unsigned char c = static_cast<unsigned char>(text_[pos_++]);
            out.push_back(c < 0x80 ? static_cast<char>(std::tolower(c)) : static_cast<char>(c));
        }
        return out;
    }

    const std::string& text_;
    size_t pos_ = 0;
};

}  // namespace

ImmvName ParseImmvName(const std::string& text) {
    NameScanner scanner(text);
    ImmvName result;
    std::string first = scanner.Identifier();
    if (scanner.Accept('.')) {
        result.schema = first;
        result.name = scanner.Identifier();
        if (scanner.Accept('.')) scanner.Fail("cross-database references and three-part names are not allowed");
    } else {
        result.name = first;
    }
    if (scanner.Accept('(')) {
        do {
            result.column_names.push_back(scanner.Identifier());
        } while (scanner.Accept(','));
        if (!scanner.Accept(')')) scanner.Fail("\",\" or \")\" expected in the column list");
    }
    if (!scanner.AtEnd()) scanner.Fail("unexpected text after the name");
    return result;
}

}  // namespace ivmx::core
