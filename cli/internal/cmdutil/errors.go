package cmdutil

import (
	"errors"
	"fmt"
)

// UsageError is a command line the command cannot run: a bad flag, a
// missing or malformed argument. qc exits with status 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// UsageErrorf builds a UsageError.
func UsageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// NotFoundError says that what was asked for is not on the ledger (a block
// beyond the height, an unknown transaction or key). qc exits with status 4.
type NotFoundError struct{ Err error }

func (e *NotFoundError) Error() string { return e.Err.Error() }
func (e *NotFoundError) Unwrap() error { return e.Err }

// NotFoundf builds a NotFoundError.
func NotFoundf(format string, args ...any) error {
	return &NotFoundError{Err: fmt.Errorf(format, args...)}
}

// FailedCheckError says that the command ran to the end and found a problem:
// a verification that failed, a report with findings. The command has
// already written its result; qc exits with status 3.
type FailedCheckError struct{ Err error }

func (e *FailedCheckError) Error() string { return e.Err.Error() }
func (e *FailedCheckError) Unwrap() error { return e.Err }

// FailedCheckf builds a FailedCheckError.
func FailedCheckf(format string, args ...any) error {
	return &FailedCheckError{Err: fmt.Errorf(format, args...)}
}

// IsNotFound reports whether err says that something is not on the ledger:
// a NotFoundError, or any error in the chain with a NotFound() bool method
// that returns true (the ledger client's errors carry one).
func IsNotFound(err error) bool {
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return true
	}
	var marked interface{ NotFound() bool }
	return errors.As(err, &marked) && marked.NotFound()
}
