// Text: UTF-8 validation and the one way stagefs shows arbitrary byte strings
// (file names, S3 keys, paths) to people and to text formats.
//
// File names are bytes; S3 keys, NFSv4 names and JSON are UTF-8. Every encoder
// that carries a name or a key (the status xattr, `stagefs status` text and
// JSON, the audit log, log lines, metric labels) passes it through EscapeBytes,
// so any byte string becomes valid, printable UTF-8 and nothing can throw.
// The escaping is reversible: valid UTF-8 stays as it is, except that a
// backslash becomes "\\" and a control character (U+0000..U+001F, U+007F) or a
// byte that is not part of valid UTF-8 becomes "\xNN" (two lowercase hex digits).
#pragma once

#include <string>
#include <string_view>

namespace stagefs {

// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// The escaped form described above.
std::string EscapeBytes(std::string_view s);

// The inverse of EscapeBytes (for tools and tests); text that is not an escape
// is kept as it is.
std::string UnescapeBytes(std::string_view s);

}  // namespace stagefs
