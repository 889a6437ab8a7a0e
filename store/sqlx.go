package store

import (
	"context"

	"github.com/jmoiron/sqlx"
)

func sqlxSelect(ctx context.Context, q q, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, q.ext, dest, query, args...)
}

func sqlxGet(ctx context.Context, q q, dest any, query string, args ...any) error {
	return notFound(sqlx.GetContext(ctx, q.ext, dest, query, args...))
}
