package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite" // the "sqlite" driver: pure Go, no cgo
	sqlite3 "modernc.org/sqlite/lib"
)

// store keeps every chat message in SQLite (the tutorial, step 7). The id
// is the server offset the page keeps in auth.serverOffset; client_offset
// is the id the page gives each message (step 8), UNIQUE so that a retried
// message is stored once.
type store struct {
	db *sql.DB
}

// message is one stored chat message.
type message struct {
	ID      int64
	Content string
}

const schema = `
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_offset TEXT UNIQUE,
    content TEXT
);`

// openStore opens the SQLite file at path, creating it and its table on
// first start.
func openStore(ctx context.Context, path string) (*store, error) {
	// SQLite's own words for these are "unable to open database file".
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("open database %q: it is a directory", path)
	}
	if strings.ContainsRune(path, '?') {
		// The driver reads what follows '?' as its parameters.
		return nil, fmt.Errorf("open database %q: a file name with '?' is not supported", path)
	}
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("open database %q: %w", path, err)
	}
	// Step 9: several processes may share the file, as the tutorial's
	// workers share chat.db; a write waits up to 10 s for another
	// process's instead of failing with SQLITE_BUSY.
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("open database %q: %w", path, err)
	}
	// One connection per process: SQLite serializes writes anyway, and the
	// app holds its own lock around each insert and its broadcast (see app).
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open database %q: %w", path, err)
	}
	return &store{db: db}, nil
}

func (st *store) Close() error { return st.db.Close() }

// insert stores content under clientOffset (nil: no offset, never a
// duplicate). It returns the new id, or stored false when a message with
// the same clientOffset is already there: the UNIQUE constraint refuses it,
// as in the tutorial (errno 19, SQLITE_CONSTRAINT).
func (st *store) insert(ctx context.Context, content string, clientOffset *string) (id int64, stored bool, err error) {
	res, err := st.db.ExecContext(ctx, `INSERT INTO messages (content, client_offset) VALUES (?, ?)`, content, clientOffset)
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return 0, false, nil
	}
	if err == nil {
		id, err = res.LastInsertId()
	}
	if err != nil {
		return 0, false, fmt.Errorf("store message: %w", err)
	}
	return id, true, nil
}

// since returns the messages after the server offset, oldest first.
func (st *store) since(ctx context.Context, offset int64) ([]message, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT id, content FROM messages WHERE id > ? ORDER BY id`, offset)
	if err != nil {
		return nil, fmt.Errorf("read messages: %w", err)
	}
	defer rows.Close()
	var out []message
	for rows.Next() {
		var m message
		if err := rows.Scan(&m.ID, &m.Content); err != nil {
			return nil, fmt.Errorf("read messages: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read messages: %w", err)
	}
	return out, nil
}
