package engine

import "errors"

// ErrNotReplayable is returned for a sync that is still queued or running.
var ErrNotReplayable = errors.New("this sync has not finished yet, so it cannot be replayed")

// Replay and the bulk replays live in failed.go, with the failed-syncs console's other jobs.
