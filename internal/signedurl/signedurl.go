// Package signedurl makes and checks expiring download links that the
// control-plane serves itself: a path with an expiry time and an HMAC-SHA256
// signature of both in its query, so a link can be handed to a browser
// without a bearer token and stops working at its expiry.
//
// Several keys can be active at once for rotation: links are signed with the
// first and accepted with any.
package signedurl

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// The query parameters a signed link carries.
const (
	ParamExpires = "expires"
	ParamSig     = "sig"
)

// MinKeySize is the shortest key New accepts, in bytes.
const MinKeySize = 32

// Errors returned by Verify, so a handler can pick its answer with errors.Is.
var (
	// ErrMissing: the link carries no signature or no expiry.
	ErrMissing = errors.New("signed url: signature missing")
	// ErrBad: the signature or expiry is malformed, or the signature does not
	// match the path and expiry under any key.
	ErrBad = errors.New("signed url: bad signature")
	// ErrExpired: the signature is good but its expiry has passed.
	ErrExpired = errors.New("signed url: expired")
)

// domain separates these MACs from any other use of the same key.
const domain = "camofleet signed url v1\n"

// sigEncoding is strict so that each MAC has exactly one accepted spelling.
var sigEncoding = base64.RawURLEncoding.Strict()

// Signer signs and verifies links.
type Signer struct {
	keys [][]byte
}

// New returns a Signer that signs with keys[0] and verifies with any of keys.
// Each key must be at least MinKeySize bytes.
func New(keys ...[]byte) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("signed url: no key")
	}
	s := &Signer{keys: make([][]byte, len(keys))}
	for i, k := range keys {
		if len(k) < MinKeySize {
			return nil, fmt.Errorf("signed url: key %d has %d bytes, want at least %d",
				i, len(k), MinKeySize)
		}
		s.keys[i] = append([]byte(nil), k...)
	}
	return s, nil
}

// Sign returns path, escaped, followed by ?expires=<unix seconds>&sig=<MAC>.
// path is the plain (unescaped) URL path the link will be served at, as the
// server later sees it in Request.URL.Path; it must carry no query.
func (s *Signer) Sign(path string, expires time.Time) string {
	exp := expires.Unix()
	q := url.Values{
		ParamExpires: {strconv.FormatInt(exp, 10)},
		ParamSig:     {sigEncoding.EncodeToString(mac(s.keys[0], path, exp))},
	}
	return (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Verify checks that query holds a signature of path made by one of the
// Signer's keys and that its expiry lies after now. It returns ErrMissing,
// ErrBad or ErrExpired (wrapped); an expired link is only reported as such
// when its signature is good. Parameters other than expires and sig are
// ignored: they are not signed, so a handler must not act on them.
func (s *Signer) Verify(path string, query url.Values, now time.Time) error {
	expVals, sigVals := query[ParamExpires], query[ParamSig]
	if len(expVals) == 0 || len(sigVals) == 0 {
		return ErrMissing
	}
	if len(expVals) != 1 || len(sigVals) != 1 {
		return fmt.Errorf("%w: repeated parameter", ErrBad)
	}
	exp, err := strconv.ParseInt(expVals[0], 10, 64)
	if err != nil || strconv.FormatInt(exp, 10) != expVals[0] {
		return fmt.Errorf("%w: expires is not a plain unix time", ErrBad)
	}
	got, err := sigEncoding.DecodeString(sigVals[0])
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: malformed signature", ErrBad)
	}
	if !s.match(got, path, exp) {
		return ErrBad
	}
	if !now.Before(time.Unix(exp, 0)) {
		return fmt.Errorf("%w at %s", ErrExpired, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// match compares got with the MAC under every key, in constant time for
// each, and without stopping early, so timing tells nothing about which key.
func (s *Signer) match(got []byte, path string, exp int64) bool {
	ok := false
	for _, k := range s.keys {
		if hmac.Equal(got, mac(k, path, exp)) {
			ok = true
		}
	}
	return ok
}

func mac(key []byte, path string, exp int64) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(domain))
	h.Write([]byte(strconv.FormatInt(exp, 10)))
	h.Write([]byte{'\n'})
	h.Write([]byte(path))
	return h.Sum(nil)
}
