package s3store

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// The environment variables FromEnv reads.
const (
	EnvEndpoint     = "S3_ENDPOINT"
	EnvBucket       = "S3_BUCKET"
	EnvAccessKey    = "S3_ACCESS_KEY"
	EnvSecretKey    = "S3_SECRET_KEY"
	EnvSecure       = "S3_SECURE"
	EnvRegion       = "S3_REGION"
	EnvPrefix       = "S3_PREFIX"
	EnvCreateBucket = "S3_CREATE_BUCKET"
)

// Config says where artifacts are stored and how to reach the server.
type Config struct {
	// Endpoint is the server's host:port, without scheme.
	Endpoint string
	// Secure selects HTTPS.
	Secure    bool
	Bucket    string
	AccessKey string
	SecretKey string
	// Region is the bucket's region; empty lets the client ask the server.
	Region string
	// Prefix is put before every object key; empty or ending in "/".
	Prefix string
	// CreateBucket lets New create a missing bucket instead of failing.
	CreateBucket bool
	// Transport replaces the default HTTP transport when not nil (custom CAs,
	// proxies, tests).
	Transport http.RoundTripper
}

// LogValue describes the configuration for logs without the secret key.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("endpoint", c.Endpoint),
		slog.Bool("secure", c.Secure),
		slog.String("bucket", c.Bucket),
		slog.String("region", c.Region),
		slog.String("prefix", c.Prefix),
	)
}

// String describes the configuration without the secret key, so that a
// Config printed with %v or %+v by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("s3 endpoint=%s secure=%t bucket=%s region=%s prefix=%s access_key=%s",
		c.Endpoint, c.Secure, c.Bucket, c.Region, c.Prefix, c.AccessKey)
}

// FromEnv reads the S3_* variables through lookup (os.LookupEnv in
// production). It returns a nil Config and no error when S3_ENDPOINT is unset
// or empty: artifacts then stay on local disk. When S3_ENDPOINT is set, every
// other required variable must be set and valid, and the error names the
// first one that is not.
//
// S3_ENDPOINT is host:port or an http(s) URL without path; S3_SECURE
// (true/false) defaults to the URL's scheme, or to true for a bare host:port.
// S3_REGION, S3_PREFIX and S3_CREATE_BUCKET (true/false, default false) are
// optional.
func FromEnv(lookup func(string) (string, bool)) (*Config, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	raw := get(EnvEndpoint)
	if raw == "" {
		return nil, nil
	}

	var c Config
	var schemeSecure *bool
	var err error
	c.Endpoint, schemeSecure, err = parseEndpoint(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvEndpoint, err)
	}
	c.Secure = true
	if schemeSecure != nil {
		c.Secure = *schemeSecure
	}
	if s := get(EnvSecure); s != "" {
		if c.Secure, err = parseBool(EnvSecure, s); err != nil {
			return nil, err
		}
		if schemeSecure != nil && *schemeSecure != c.Secure {
			return nil, fmt.Errorf("%s=%s contradicts the scheme of %s=%s",
				EnvSecure, s, EnvEndpoint, raw)
		}
	}

	c.Bucket = get(EnvBucket)
	c.AccessKey = get(EnvAccessKey)
	// A secret may legitimately begin or end with a space: keep it as is.
	c.SecretKey, _ = lookup(EnvSecretKey)
	c.Region = get(EnvRegion)
	c.Prefix = get(EnvPrefix)
	if s := get(EnvCreateBucket); s != "" {
		if c.CreateBucket, err = parseBool(EnvCreateBucket, s); err != nil {
			return nil, err
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.Prefix = normalPrefix(c.Prefix)
	return &c, nil
}

// Validate checks the configuration and names, in its error, the variable
// that holds the wrong value.
func (c Config) Validate() error {
	if c.Endpoint == "" {
		return fmt.Errorf("%s is not set", EnvEndpoint)
	}
	if strings.Contains(c.Endpoint, "://") {
		return fmt.Errorf("%s: Config.Endpoint must be host:port without scheme", EnvEndpoint)
	}
	if _, _, err := parseEndpoint(c.Endpoint); err != nil {
		return fmt.Errorf("%s: %w", EnvEndpoint, err)
	}
	if c.Bucket == "" {
		return fmt.Errorf("%s is required when %s is set", EnvBucket, EnvEndpoint)
	}
	if err := s3utils.CheckValidBucketNameStrict(c.Bucket); err != nil {
		return fmt.Errorf("%s=%q: %w", EnvBucket, c.Bucket, err)
	}
	if c.AccessKey == "" {
		return fmt.Errorf("%s is required when %s is set", EnvAccessKey, EnvEndpoint)
	}
	if c.SecretKey == "" {
		return fmt.Errorf("%s is required when %s is set", EnvSecretKey, EnvEndpoint)
	}
	if c.Region != "" && !validRegion(c.Region) {
		return fmt.Errorf("%s=%q: want letters, digits and '-'", EnvRegion, c.Region)
	}
	if err := checkPrefix(c.Prefix); err != nil {
		return fmt.Errorf("%s=%q: %w", EnvPrefix, c.Prefix, err)
	}
	return nil
}

// parseEndpoint accepts host:port, host, or an http(s) URL with nothing after
// the authority, and returns host[:port] and, for a URL, whether its scheme
// is https.
func parseEndpoint(raw string) (string, *bool, error) {
	hostport := raw
	var secure *bool
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return "", nil, fmt.Errorf("%q is not a URL: %w", raw, err)
		}
		switch u.Scheme {
		case "http", "https":
			s := u.Scheme == "https"
			secure = &s
		default:
			return "", nil, fmt.Errorf("%q: scheme must be http or https", raw)
		}
		if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" ||
			u.Fragment != "" {
			return "", nil, fmt.Errorf("%q: want scheme://host:port and nothing more", raw)
		}
		hostport = u.Host
	}
	if err := checkHostPort(hostport); err != nil {
		return "", nil, fmt.Errorf("%q: %w", raw, err)
	}
	return hostport, secure, nil
}

func checkHostPort(hostport string) error {
	if hostport == "" {
		return errors.New("no host")
	}
	host := hostport
	if h, port, err := net.SplitHostPort(hostport); err == nil {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("bad port %q", port)
		}
		host = h
	} else if strings.Contains(hostport, ":") && !strings.HasPrefix(hostport, "[") {
		return errors.New("want host:port")
	}
	if host == "" || strings.ContainsAny(host, "/?#@ \t") {
		return fmt.Errorf("bad host %q", host)
	}
	return nil
}

func parseBool(name, s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%s=%q: want true or false", name, s)
}

func validRegion(s string) bool {
	for _, r := range s {
		ok := r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') ||
			(r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return len(s) <= 64
}

// checkPrefix refuses a prefix that would make keys awkward or ambiguous:
// a leading slash, "." or ".." elements, empty elements, backslashes and
// control characters.
func checkPrefix(p string) error {
	if p == "" {
		return nil
	}
	if len(p) > 256 {
		return errors.New("longer than 256 bytes")
	}
	if strings.HasPrefix(p, "/") {
		return errors.New("must not start with /")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return errors.New("contains a control character or a backslash")
		}
	}
	for _, el := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if el == "" || el == "." || el == ".." {
			return errors.New("has an empty, . or .. element")
		}
	}
	return nil
}

// normalPrefix makes a valid prefix end in "/" unless it is empty.
func normalPrefix(p string) string {
	if p == "" {
		return ""
	}
	return path.Clean(p) + "/"
}
