package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"crossdock/store"
	"crossdock/vocab"
)

// userAdd creates a user from the command line. The password comes from
// standard input, never from argv (which other users of the machine can read).
func userAdd(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "email address")
	name := fs.String("name", "", "full name")
	role := fs.String("role", "", "admin, operator or finance")
	if err := fs.Parse(args); err != nil {
		return usageError("crossdock user add: " + err.Error() + "\nUsage: crossdock user add --email E --name N --role admin|operator|finance")
	}
	password, err := readPassword(stdin, stdout)
	if err != nil {
		return err
	}
	n := store.NewUser{Email: *email, Name: *name, Role: vocab.Role(*role), Password: password}
	n.Normalize()
	if fe := n.Validate(); fe != nil {
		return fmt.Errorf("user not created: %s", fe.Error())
	}
	st, closeDB, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDB()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	u, err := st.CreateUser(ctx, store.SystemActor("command line"), n)
	var fe vocab.FieldErrors
	if errors.As(err, &fe) {
		return fmt.Errorf("user not created: %s", fe.Error())
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s <%s> as %s (id %d)\n", u.Name, u.Email, u.Role, u.ID)
	return nil
}

func readPassword(stdin io.Reader, stdout io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stdout, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdout)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("user not created: give the password on standard input, e.g. echo 'a long password' | crossdock user add ...")
	}
	return pw, nil
}
