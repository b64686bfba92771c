package s3store

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// base returns a complete set of variables with overrides applied; an
// override of "-" unsets the variable.
func base(over map[string]string) map[string]string {
	m := map[string]string{
		EnvEndpoint:  "minio.internal:9000",
		EnvBucket:    "camofleet-artifacts",
		EnvAccessKey: "AKIAEXAMPLE",
		EnvSecretKey: "s3cr3t",
	}
	for k, v := range over {
		if v == "-" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Config
	}{
		{"host:port defaults to https", base(nil), Config{Endpoint: "minio.internal:9000",
			Secure: true, Bucket: "camofleet-artifacts", AccessKey: "AKIAEXAMPLE",
			SecretKey: "s3cr3t"}},
		{"S3_SECURE=false", base(map[string]string{EnvSecure: "false"}),
			Config{Endpoint: "minio.internal:9000", Secure: false}},
		{"http URL", base(map[string]string{EnvEndpoint: "http://127.0.0.1:8333"}),
			Config{Endpoint: "127.0.0.1:8333", Secure: false}},
		{"https URL with slash", base(map[string]string{EnvEndpoint: "https://s3.example.com/"}),
			Config{Endpoint: "s3.example.com", Secure: true}},
		{"URL and matching S3_SECURE",
			base(map[string]string{EnvEndpoint: "http://h:1", EnvSecure: "FALSE"}),
			Config{Endpoint: "h:1", Secure: false}},
		{"IPv6", base(map[string]string{EnvEndpoint: "[::1]:9000", EnvSecure: "0"}),
			Config{Endpoint: "[::1]:9000", Secure: false}},
		{"optional values", base(map[string]string{EnvRegion: "eu-west-1",
			EnvPrefix: "fleet/prod", EnvCreateBucket: "true"}),
			Config{Endpoint: "minio.internal:9000", Secure: true, Region: "eu-west-1",
				Prefix: "fleet/prod/", CreateBucket: true}},
		{"prefix with slash kept", base(map[string]string{EnvPrefix: "fleet/"}),
			Config{Endpoint: "minio.internal:9000", Secure: true, Prefix: "fleet/"}},
		{"spaces trimmed", base(map[string]string{EnvEndpoint: " minio.internal:9000 ",
			EnvBucket: " camofleet-artifacts\n"}),
			Config{Endpoint: "minio.internal:9000", Secure: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := FromEnv(env(tc.env))
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if c == nil {
				t.Fatal("FromEnv returned nil config")
			}
			if c.Endpoint != tc.want.Endpoint || c.Secure != tc.want.Secure ||
				c.Region != tc.want.Region || c.Prefix != tc.want.Prefix ||
				c.CreateBucket != tc.want.CreateBucket {
				t.Fatalf("got %+v, want %+v", *c, tc.want)
			}
			if c.Bucket != "camofleet-artifacts" || c.AccessKey != "AKIAEXAMPLE" ||
				c.SecretKey != "s3cr3t" {
				t.Fatalf("credentials or bucket lost: %+v", *c)
			}
		})
	}
}

func TestFromEnvUnset(t *testing.T) {
	for name, m := range map[string]map[string]string{
		"nothing":           {},
		"empty endpoint":    {EnvEndpoint: ""},
		"only other values": {EnvBucket: "b", EnvAccessKey: "a"},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := FromEnv(env(m))
			if c != nil || err != nil {
				t.Fatalf("FromEnv = %+v, %v; want nil, nil", c, err)
			}
		})
	}
}

func TestFromEnvErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name string
		over map[string]string
		want string
	}{
		{"no bucket", map[string]string{EnvBucket: "-"}, "S3_BUCKET is required"},
		{"empty bucket", map[string]string{EnvBucket: " "}, "S3_BUCKET is required"},
		{"bad bucket", map[string]string{EnvBucket: "Bad_Bucket"}, "S3_BUCKET"},
		{"no access key", map[string]string{EnvAccessKey: "-"}, "S3_ACCESS_KEY is required"},
		{"no secret key", map[string]string{EnvSecretKey: "-"}, "S3_SECRET_KEY is required"},
		{"bad secure", map[string]string{EnvSecure: "maybe"}, "S3_SECURE"},
		{"secure contradicts scheme",
			map[string]string{EnvEndpoint: "http://h:9000", EnvSecure: "true"}, "S3_SECURE"},
		{"bad create", map[string]string{EnvCreateBucket: "sure"}, "S3_CREATE_BUCKET"},
		{"ftp scheme", map[string]string{EnvEndpoint: "ftp://h:21"}, "S3_ENDPOINT"},
		{"URL with path", map[string]string{EnvEndpoint: "http://h:9000/bucket"}, "S3_ENDPOINT"},
		{"URL with user", map[string]string{EnvEndpoint: "http://u:p@h:9000"}, "S3_ENDPOINT"},
		{"bad port", map[string]string{EnvEndpoint: "h:99999"}, "S3_ENDPOINT"},
		{"no port number", map[string]string{EnvEndpoint: "h:"}, "S3_ENDPOINT"},
		{"path without scheme", map[string]string{EnvEndpoint: "h:9000/x"}, "S3_ENDPOINT"},
		{"bad region", map[string]string{EnvRegion: "eu west"}, "S3_REGION"},
		{"absolute prefix", map[string]string{EnvPrefix: "/fleet"}, "S3_PREFIX"},
		{"climbing prefix", map[string]string{EnvPrefix: "fleet/../x"}, "S3_PREFIX"},
		{"empty element prefix", map[string]string{EnvPrefix: "a//b"}, "S3_PREFIX"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := FromEnv(env(base(tc.over)))
			if err == nil {
				t.Fatalf("FromEnv = %+v, want an error", *c)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error %q shows the secret key", err)
			}
		})
	}
}

func TestKeyRefusesEscapes(t *testing.T) {
	s := &Store{prefix: "fleet/"}
	good, err := s.Key("s-1", "screenshots/home.png")
	if err != nil || good != "fleet/sessions/s-1/screenshots/home.png" {
		t.Fatalf("Key = %q, %v", good, err)
	}
	tests := []struct{ name, session, artifact string }{
		{"empty session", "", "a.png"},
		{"dot session", ".", "a.png"},
		{"climbing session", "..", "a.png"},
		{"slash in session", "a/b", "a.png"},
		{"empty name", "s-1", ""},
		{"climbing name", "s-1", "../s-2/a.png"},
		{"absolute name", "s-1", "/etc/passwd"},
		{"unclean name", "s-1", "screenshots//a.png"},
		{"dot element", "s-1", "screenshots/./a.png"},
		{"backslash", "s-1", `screenshots\a.png`},
		{"control character", "s-1", "a\n.png"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if k, err := s.Key(tc.session, tc.artifact); err == nil {
				t.Fatalf("Key = %q, want an error", k)
			}
		})
	}
}

func TestAttachment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"home.png", "attachment; filename=home.png"},
		{"my page.png", `attachment; filename="my page.png"`},
		{`a"b.txt`, "attachment; filename=a_b.txt"},
		{"отчёт.pdf", "attachment; filename*=utf-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf"},
		{"x\r\nSet-Cookie: y", `attachment; filename="x__Set-Cookie: y"`},
	}
	for _, tc := range tests {
		if got := attachment(tc.in); got != tc.want {
			t.Errorf("attachment(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestConfigHidesSecret(t *testing.T) {
	c, err := FromEnv(env(base(nil)))
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("ready", "s3", *c)
	for _, out := range []string{fmt.Sprint(*c), fmt.Sprintf("%+v", *c),
		fmt.Sprintf("%v", c), logged.String()} {
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("secret shown in %q", out)
		}
		if !strings.Contains(out, "minio.internal:9000") {
			t.Errorf("endpoint missing from %q", out)
		}
	}
}
