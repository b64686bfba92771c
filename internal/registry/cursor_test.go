package registry

import (
	"errors"
	"testing"
	"time"
)

func TestSessionCursorRoundTrip(t *testing.T) {
	for _, c := range []SessionCursor{
		{CreatedAt: time.Date(2030, 1, 2, 3, 4, 5, 678901000, time.UTC), ID: "s-1"},
		{CreatedAt: time.Unix(0, 0).UTC(), ID: "id:with:colons and spaces/é"},
		{CreatedAt: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), ID: "before 1970"},
	} {
		got, err := ParseSessionCursor(c.String())
		if err != nil {
			t.Fatalf("parse %v: %v", c, err)
		}
		if !got.CreatedAt.Equal(c.CreatedAt) || got.ID != c.ID {
			t.Errorf("round trip of %v gave %v", c, got)
		}
	}
}

func TestParseSessionCursorInvalid(t *testing.T) {
	for _, s := range []string{"", "%%%", "bm9jb2xvbg", "eDpzLTE", "MTIzOg"} {
		if _, err := ParseSessionCursor(s); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("ParseSessionCursor(%q) error = %v, want ErrInvalidCursor", s, err)
		}
	}
}

func TestPageLimit(t *testing.T) {
	for in, want := range map[int]int{-1: DefaultLimit, 0: DefaultLimit, 1: 1, 500: 500,
		MaxLimit + 1: MaxLimit} {
		if got := PageLimit(in); got != want {
			t.Errorf("PageLimit(%d) = %d, want %d", in, got, want)
		}
	}
}
