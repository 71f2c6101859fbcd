// Status and Result: error values that cross layer boundaries instead of exceptions.
//
// A Status is either OK or carries an ErrorCode, a human-readable message and a
// `retryable` flag so that callers (the sync engine above all) can decide what to
// do from the error itself. Result<T, E> holds either a value or an error; E
// defaults to Status. Both are cheap to move and [[nodiscard]].
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace stagefs {

enum class ErrorCode {
  kOk = 0,
  kNotFound,
  kAlreadyExists,
  kInvalidArgument,
  kPermissionDenied,
  kPreconditionFailed,
  kUnavailable,  // server or network down; usually retryable
  kIo,           // local disk error
  kNoSpace,
  kNotSupported,
  kNotEmpty,
  kNotDirectory,
  kIsDirectory,
  kNameTooLong,
  kDataLoss,
  kConflict,
  kCancelled,
  kReadOnly,      // EROFS
  kNotPermitted,  // EPERM (as opposed to EACCES)
  kStale,         // ESTALE: the name no longer leads here; the kernel looks it up again
  kIllegalByteSequence,  // EILSEQ: a name that is not valid UTF-8 (S3 keys must be)
  kInternal,
};

const char* ErrorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message, bool retryable = false)
      : code_(code), message_(std::move(message)), retryable_(retryable) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool retryable() const { return retryable_; }

  // "NotFound: no such key 'a/b'".
  std::string ToString() const;

  // Prepends context: "opening cache: NotFound: ...".
  Status Annotate(const std::string& context) const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  bool retryable_ = false;
};

inline Status OkStatus() { return Status(); }

template <typename T, typename E = Status>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  E&& error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, E> v_;
};

}  // namespace stagefs

// Early-return helpers. RETURN_IF_ERROR works on anything with ok() that converts
// to the function's return type.
#define STAGEFS_CONCAT_INNER(a, b) a##b
#define STAGEFS_CONCAT(a, b) STAGEFS_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)               \
  do {                                      \
    auto stagefs_status_ = (expr);          \
    if (!stagefs_status_.ok()) return stagefs_status_; \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(STAGEFS_CONCAT(stagefs_result_, __LINE__), lhs, expr)
