package signedurl

import (
	"bytes"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	keyA = bytes.Repeat([]byte{'a'}, 32)
	keyB = bytes.Repeat([]byte{'b'}, 32)
	now  = time.Unix(1_800_000_000, 0)
)

const artifactPath = "/v1/sessions/s-1/artifacts/screenshots/home page.png"

func mustSigner(t testing.TB, keys ...[]byte) *Signer {
	t.Helper()
	s, err := New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// split parses a signed link into its path and query, as a server sees them.
func split(t testing.TB, link string) (string, url.Values) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("parse %q: %v", link, err)
	}
	return u.Path, u.Query()
}

func TestSignEscapesPath(t *testing.T) {
	link := mustSigner(t, keyA).Sign(artifactPath, now.Add(time.Minute))
	if !strings.HasPrefix(link, "/v1/sessions/s-1/artifacts/screenshots/home%20page.png?") {
		t.Fatalf("link = %q", link)
	}
	p, q := split(t, link)
	if p != artifactPath {
		t.Fatalf("path = %q", p)
	}
	if q.Get(ParamExpires) != strconv.FormatInt(now.Add(time.Minute).Unix(), 10) {
		t.Fatalf("expires = %q", q.Get(ParamExpires))
	}
}

func TestVerify(t *testing.T) {
	signer := mustSigner(t, keyA, keyB)
	good := signer.Sign(artifactPath, now.Add(time.Minute))
	_, goodQ := split(t, good)
	byOld := mustSigner(t, keyB).Sign(artifactPath, now.Add(time.Minute))
	byStranger := mustSigner(t, bytes.Repeat([]byte{'c'}, 32)).
		Sign(artifactPath, now.Add(time.Minute))
	expired := signer.Sign(artifactPath, now.Add(-time.Second))
	atExpiry := signer.Sign(artifactPath, now)

	with := func(key, value string) url.Values {
		q := url.Values{}
		for k, v := range goodQ {
			q[k] = append([]string(nil), v...)
		}
		q.Set(key, value)
		return q
	}
	query := func(link string) url.Values { _, q := split(t, link); return q }
	flipped := []byte(goodQ.Get(ParamSig))
	if flipped[0] == 'A' {
		flipped[0] = 'B'
	} else {
		flipped[0] = 'A'
	}

	tests := []struct {
		name  string
		path  string
		query url.Values
		want  error
	}{
		{"good", artifactPath, goodQ, nil},
		{"signed with an older key", artifactPath, query(byOld), nil},
		{"extra unsigned parameter ignored", artifactPath, with("download", "1"), nil},
		{"no query", artifactPath, url.Values{}, ErrMissing},
		{"no sig", artifactPath, url.Values{ParamExpires: goodQ[ParamExpires]}, ErrMissing},
		{"no expires", artifactPath, url.Values{ParamSig: goodQ[ParamSig]}, ErrMissing},
		{"other path", "/v1/sessions/s-2/artifacts/screenshots/home page.png", goodQ, ErrBad},
		{"escaped path is another path", "/v1/sessions/s-1/artifacts/screenshots/home%20page.png",
			goodQ, ErrBad},
		{"signed by a stranger", artifactPath, query(byStranger), ErrBad},
		{"flipped signature", artifactPath, with(ParamSig, string(flipped)), ErrBad},
		{"padded signature", artifactPath, with(ParamSig, goodQ.Get(ParamSig)+"="), ErrBad},
		{"short signature", artifactPath, with(ParamSig, goodQ.Get(ParamSig)[:20]), ErrBad},
		{"empty signature", artifactPath, with(ParamSig, ""), ErrBad},
		{"later expiry", artifactPath,
			with(ParamExpires, strconv.FormatInt(now.Add(time.Hour).Unix(), 10)), ErrBad},
		{"expires with plus", artifactPath, with(ParamExpires, "+"+goodQ.Get(ParamExpires)), ErrBad},
		{"expires with zero", artifactPath, with(ParamExpires, "0"+goodQ.Get(ParamExpires)), ErrBad},
		{"expires not a number", artifactPath, with(ParamExpires, "soon"), ErrBad},
		{"repeated sig", artifactPath, url.Values{ParamExpires: goodQ[ParamExpires],
			ParamSig: {goodQ.Get(ParamSig), goodQ.Get(ParamSig)}}, ErrBad},
		{"expired", artifactPath, query(expired), ErrExpired},
		{"at expiry", artifactPath, query(atExpiry), ErrExpired},
		{"expired and forged", artifactPath, url.Values{ParamExpires: query(expired)[ParamExpires],
			ParamSig: goodQ[ParamSig]}, ErrBad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := signer.Verify(tc.path, tc.query, now)
			if tc.want == nil && err != nil {
				t.Fatalf("Verify = %v, want nil", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyAfterRotationOut(t *testing.T) {
	link := mustSigner(t, keyA).Sign(artifactPath, now.Add(time.Minute))
	p, q := split(t, link)
	if err := mustSigner(t, keyB, keyA).Verify(p, q, now); err != nil {
		t.Fatalf("old key still listed: %v", err)
	}
	if err := mustSigner(t, keyB).Verify(p, q, now); !errors.Is(err, ErrBad) {
		t.Fatalf("old key dropped: Verify = %v, want ErrBad", err)
	}
}

func TestNewRefusesWeakKeys(t *testing.T) {
	tests := []struct {
		name string
		keys [][]byte
	}{
		{"no key", nil},
		{"short key", [][]byte{make([]byte, 16)}},
		{"short second key", [][]byte{keyA, make([]byte, 31)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.keys...); err == nil {
				t.Fatal("New accepted the keys")
			}
		})
	}
}

func TestSignerCopiesKeys(t *testing.T) {
	key := bytes.Clone(keyA)
	s := mustSigner(t, key)
	link := s.Sign(artifactPath, now.Add(time.Minute))
	key[0] ^= 1
	p, q := split(t, link)
	if err := s.Verify(p, q, now); err != nil {
		t.Fatalf("changing the caller's slice changed the signer: %v", err)
	}
}

// FuzzVerify checks that Verify never panics, returns only its three
// errors, and accepts only what Sign would have produced for that path and
// expiry, before that expiry.
func FuzzVerify(f *testing.F) {
	signer := mustSigner(f, keyA, keyB)
	seeds := []string{
		signer.Sign(artifactPath, now.Add(time.Minute)),
		signer.Sign("/", now.Add(-time.Minute)),
		signer.Sign("/a b/ü?#", now.Add(time.Hour)),
		"/x?expires=1&sig=",
		"/x?expires=-1&sig=AAAA",
		"/x?sig=%ff&expires=99999999999999999999",
	}
	for _, s := range seeds {
		p, rawQuery, _ := strings.Cut(s, "?")
		f.Add(p, rawQuery, now.Unix())
	}
	f.Fuzz(func(t *testing.T, p, rawQuery string, nowUnix int64) {
		q, _ := url.ParseQuery(rawQuery)
		at := time.Unix(nowUnix, 0)
		err := signer.Verify(p, q, at)
		if err != nil {
			if !errors.Is(err, ErrMissing) && !errors.Is(err, ErrBad) &&
				!errors.Is(err, ErrExpired) {
				t.Fatalf("Verify returned a foreign error: %v", err)
			}
			return
		}
		exp, perr := strconv.ParseInt(q.Get(ParamExpires), 10, 64)
		if perr != nil || !at.Before(time.Unix(exp, 0)) {
			t.Fatalf("accepted expires=%q at %d", q.Get(ParamExpires), nowUnix)
		}
		if sig := q.Get(ParamSig); sig != signWith(keyA, p, exp) && sig != signWith(keyB, p, exp) {
			t.Fatalf("accepted sig=%q for path %q, expires %d", q.Get(ParamSig), p, exp)
		}
	})
}

func signWith(key []byte, p string, exp int64) string {
	return sigEncoding.EncodeToString(mac(key, p, exp))
}
