package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

func migrate(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	st, closeDB, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDB()
	n, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if err := st.MigrateQueue(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migration(s); the database is current\n", n)
	return nil
}
