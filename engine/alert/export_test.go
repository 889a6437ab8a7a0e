package alert

import "time"

// ForgetSubscriptionCheck makes the next evaluation check the webhook
// subscriptions again instead of reusing the last check of its window.
func ForgetSubscriptionCheck(s *Service) {
	s.memo.mu.Lock()
	s.memo.subsAt = time.Time{}
	s.memo.mu.Unlock()
}
