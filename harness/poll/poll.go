// Package poll is the harness's one way to wait for a condition: check,
// sleep, check again, until it holds, the context ends or a timeout passes
// (k8s.io/apimachinery's wait underneath), with an error that says what was
// awaited and the last reason it did not hold yet.
package poll

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Until calls check at once, then every interval, until it reports done.
// An error from check is a reason to keep waiting (the last one is in the
// error Until returns on timeout) unless wrapped with Stop, which ends the
// wait at once. timeout <= 0 leaves only ctx to end the wait. The error
// names what was awaited.
func Until(ctx context.Context, what string, interval, timeout time.Duration, check func(ctx context.Context) (done bool, err error)) error {
	var last error
	condition := func(ctx context.Context) (bool, error) {
		done, err := check(ctx)
		var stop *stopError
		if errors.As(err, &stop) {
			return false, stop
		}
		if err != nil {
			last = err
		}
		return done, nil
	}
	var err error
	if timeout > 0 {
		err = wait.PollUntilContextTimeout(ctx, interval, timeout, true, condition)
	} else {
		err = wait.PollUntilContextCancel(ctx, interval, true, condition)
	}
	var stop *stopError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &stop):
		return fmt.Errorf("waiting for %s: %w", what, stop.err)
	case last != nil:
		return fmt.Errorf("waited %s for %s: %w (last: %v)", waited(timeout), what, err, last)
	}
	return fmt.Errorf("waited %s for %s: %w", waited(timeout), what, err)
}

func waited(timeout time.Duration) string {
	if timeout <= 0 {
		return "until cancelled"
	}
	return timeout.String()
}

// Stop marks a check's error as final: Until returns it at once instead of
// waiting on (a process that exited will not start serving).
func Stop(err error) error {
	if err == nil {
		return nil
	}
	return &stopError{err: err}
}

type stopError struct{ err error }

func (s *stopError) Error() string { return s.err.Error() }
func (s *stopError) Unwrap() error { return s.err }

// NotYet is a check's reason to keep waiting, for a condition that is not an
// error but should be named if the wait times out ("2 Deployments not
// Available: …").
func NotYet(format string, args ...any) error { return fmt.Errorf(format, args...) }
