package poll_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/osmo-wi/charts/harness/poll"
)

func TestUntil(t *testing.T) {
	t.Run("returns once the check holds, checking at once", func(t *testing.T) {
		calls := 0
		err := poll.Until(t.Context(), "the third call", time.Millisecond, time.Second, func(context.Context) (bool, error) {
			calls++
			return calls == 3, nil
		})
		assert.NoError(t, err)
		assert.Equal(t, 3, calls)
	})
	t.Run("a timeout names what was awaited and the last reason", func(t *testing.T) {
		err := poll.Until(t.Context(), "the pod to run", time.Millisecond, 20*time.Millisecond, func(context.Context) (bool, error) {
			return false, poll.NotYet("phase Pending")
		})
		assert.ErrorContains(t, err, "waited 20ms for the pod to run")
		assert.ErrorContains(t, err, "last: phase Pending")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("Stop ends the wait at once with its error", func(t *testing.T) {
		exited := errors.New("the webhook exited")
		began := time.Now()
		err := poll.Until(t.Context(), "the webhook to serve", time.Millisecond, time.Minute, func(context.Context) (bool, error) {
			return false, poll.Stop(exited)
		})
		assert.ErrorIs(t, err, exited)
		assert.ErrorContains(t, err, "waiting for the webhook to serve")
		assert.Less(t, time.Since(began), time.Second)
	})
	t.Run("without a timeout the context ends it", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		err := poll.Until(ctx, "nothing", time.Millisecond, 0, func(context.Context) (bool, error) { return false, nil })
		assert.ErrorContains(t, err, "until cancelled")
	})
}
