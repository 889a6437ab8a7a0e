package recon

import "context"

// Tick runs the scheduler's tick of comparisons once.
func Tick(s *Service, ctx context.Context) error { return s.tick(ctx) }
