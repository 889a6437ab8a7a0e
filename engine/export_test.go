package engine

import "time"

// ForgetSubscriptionCheck makes the next evaluation check the webhook
// subscriptions again instead of reusing the last check of its window.
func ForgetSubscriptionCheck(e *Engine) {
	e.memo.mu.Lock()
	e.memo.subsAt = time.Time{}
	e.memo.mu.Unlock()
}
