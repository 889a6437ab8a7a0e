package store

import "time"

// SetWebhookTargetsClock lets a test move the cache's clock instead of
// sleeping past a deadline.
func SetWebhookTargetsClock(w *WebhookTargets, now func() time.Time) { w.now = now }

// FixedByWhereForBench is FailedFilter.FixedBy's condition, for a plan.
func FixedByWhereForBench(cs string) string { return fixedByWhere(cs) }
