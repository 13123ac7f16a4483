// Command ferretdb-auth runs an embedded FerretDB (SQLite backend) as the
// MongoDB-compatible server for local development and tests.
//
// The upstream command cannot simply be installed with `go install`: its
// version package expects generated files that are absent from the module
// archive. Embedding the library package avoids that code path entirely.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	data := flag.String("data", "data", "directory that holds the SQLite database files")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	flag.Parse()

	if err := run(*listen, *data, *logLevel); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-auth: %v\n", err)
		os.Exit(1)
	}
}

func run(listen, data, logLevel string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("bad -log-level %q: %w", logLevel, err)
	}
	// FerretDB logs every connection at info level; warn keeps logs readable.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	sqliteURL, err := sqliteURL(data)
	if err != nil {
		return err
	}

	// FerretDB itself listens privately; clients reach it through the write-serialising proxy.
	socket := filepath.Join(os.TempDir(), fmt.Sprintf("ferretdb-auth-%d.sock", os.Getpid()))
	_ = os.Remove(socket)
	defer os.Remove(socket)

	db, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: socket},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	listener, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		listener.Close()
	}()
	p := &proxy{backend: socket, logger: logger}
	go func() {
		if err := p.serve(listener); err != nil {
			logger.Error("proxy stopped", "error", err)
			stop()
		}
	}()

	fmt.Fprintf(os.Stderr, "ferretdb-auth: listening on %s, data in %s\n", listen, sqliteURL)
	return db.Run(ctx)
}

// sqliteURL turns a directory into the URI form the SQLite handler requires:
// a `file:` URI naming an existing directory, with a trailing slash.
func sqliteURL(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", err
	}
	return "file:" + abs + "/", nil
}
