package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestClassifyError: errors saying the database could not be reached (no
// host accepting writes, a connection killed, a server shutting down or
// read-only) become EUNAVAILABLE, keeping their cause; a request's own
// errors, a wrong password and the domain's errors stay as they are.
func TestClassifyError(t *testing.T) {
	sqlstoretest.ForEachEngine(t, func(t *testing.T, s *sqlstore.Store) {
		for _, tc := range []struct {
			err  error
			want bool
		}{
			{&pgconn.PgError{Severity: "FATAL", Code: "57P01"}, true}, // admin_shutdown, postmaster died
			{&pgconn.PgError{Severity: "FATAL", Code: "57P03"}, true}, // starting up
			{&pgconn.PgError{Severity: "ERROR", Code: "25006"}, true}, // read-only server
			{&pgconn.PgError{Severity: "FATAL", Code: "08006"}, true}, // connection failure
			{&pgconn.PgError{Severity: "ERROR", Code: "23505"}, false},
			{&pgconn.PgError{Severity: "FATAL", Code: "28P01"}, false}, // wrong password
			{&pgconn.PgError{Severity: "ERROR", Code: "42P01"}, false},
			{errors.New("boom"), false},
			{roster.Errorf(roster.ENOTFOUND, "No such user."), false},
		} {
			err := fmt.Errorf("load user: %w", tc.err)
			got := s.ClassifyError(err)
			if unavailable := roster.ErrorCode(got) == roster.EUNAVAILABLE; unavailable != tc.want {
				t.Errorf("%v: classified %v, want unavailable %v", tc.err, got, tc.want)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("%v: cause lost: %v", tc.err, got)
			}
		}
		if s.ClassifyError(nil) != nil {
			t.Error("nil classified")
		}
		_, err := s.DB().Exec(`SELECT * FROM no_such_table`)
		if err == nil || roster.ErrorCode(s.ClassifyError(err)) != roster.EINTERNAL {
			t.Errorf("a bad statement classified %v", s.ClassifyError(err))
		}
	})
}

// TestUnreachableHosts: when no host of a multi-host URL answers, opening
// fails at once with an error classified EUNAVAILABLE.
func TestUnreachableHosts(t *testing.T) {
	var ports [2]int
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	url := fmt.Sprintf("postgres://roster@127.0.0.1:%d,127.0.0.1:%d/roster?sslmode=disable&target_session_attrs=read-write", ports[0], ports[1])
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{DatabaseURL: url})
	if err == nil {
		s.Close()
		t.Fatal("opened a database on closed ports")
	}
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is no connect error", err)
	}
	// Any store classifies: the question is about the error.
	other := sqlstoretest.Open(t, "sqlite")
	if got := other.ClassifyError(err); roster.ErrorCode(got) != roster.EUNAVAILABLE {
		t.Errorf("classified %v", got)
	}
}

// TestLostConnectionLeavesThePool (PostgreSQL): a connection whose server
// process ends, or that finds a server refusing writes, answers an error
// classified EUNAVAILABLE and is dropped; the next queries get a working
// connection, without a restart.
func TestLostConnectionLeavesThePool(t *testing.T) {
	s := sqlstoretest.Open(t, "postgres")
	ctx := context.Background()
	db := s.DB()
	db.SetMaxOpenConns(1) // every query below takes the same connection while it lives
	t.Cleanup(func() { db.SetMaxOpenConns(20) })
	var pid int
	if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	_, err := db.ExecContext(ctx, `SELECT pg_terminate_backend(pg_backend_pid())`)
	if got := s.ClassifyError(err); err == nil || roster.ErrorCode(got) != roster.EUNAVAILABLE {
		t.Fatalf("own backend terminated: %v, classified %v", err, got)
	}
	var again int
	if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&again); err != nil || again == pid {
		t.Fatalf("after the lost connection: pid %d (was %d), %v", again, pid, err)
	}

	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.ExecContext(ctx, `CREATE TEMPORARY TABLE refused (id int)`)
	tx.Rollback()
	if got := s.ClassifyError(err); err == nil || roster.ErrorCode(got) != roster.EUNAVAILABLE {
		t.Fatalf("write in a read-only transaction: %v, classified %v", err, got)
	}
	var third int
	if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&third); err != nil || third == again {
		t.Errorf("the read-only connection stayed in the pool: pid %d, %v", third, err)
	}
}
