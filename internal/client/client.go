// Package client is an HTTP client for the Camo-fleet API. The Worker API and
// the control-plane's Control API share the paths and bodies for sessions,
// steps, artifacts and logs, so a Client works against either.
//
// Methods take a context first and return the API's own types (package api)
// or the ones defined here. An answer with a 4xx or 5xx status is returned as
// an *APIError carrying the status and the body's code, message and field;
// transport failures are returned wrapped, naming the request.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxAnswerBytes bounds a JSON answer read into memory; a page of logs is the
// largest the API sends.
const maxAnswerBytes = 64 << 20

// Client calls one Camo-fleet API endpoint. It is safe for concurrent use.
type Client struct {
	base  *url.URL // scheme://host[/prefix], without a trailing slash
	token string
	agent string
	http  *http.Client
}

// Option changes how a Client is set up.
type Option func(*Client)

// WithToken sends token as "Authorization: Bearer <token>" on every request
// to the API's own host; an empty token sends nothing.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient uses h instead of a client of its own. Timeouts belong in
// the contexts passed to each call: steps and downloads may take minutes.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(agent string) Option { return func(c *Client) { c.agent = agent } }

// New returns a client for the API at baseURL, e.g. "http://localhost:8080".
// The URL must be http or https with a host; a path is kept as a prefix.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("API URL %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("API URL %q: want http://host[:port] or https://host[:port]", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("API URL %q: must not carry a query, fragment or user", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	c := &Client{base: u, agent: "camofleet-client", http: &http.Client{}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the API's URL without a trailing slash.
func (c *Client) BaseURL() string { return c.base.String() }

// URL returns the absolute URL of an API path such as "/artifacts/ID/x.png"
// (an already absolute URL is returned unchanged).
func (c *Client) URL(path string) string {
	u, err := c.resolve(path)
	if err != nil {
		return path
	}
	return u.String()
}

// resolve turns an API path (escaped, possibly with a query) into a URL under
// the base; absolute http(s) URLs are taken as they are.
func (c *Client) resolve(ref string) (*url.URL, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("bad URL %q: %w", ref, err)
	}
	if r.IsAbs() {
		return r, nil
	}
	if !strings.HasPrefix(r.Path, "/") {
		return nil, fmt.Errorf("bad API path %q: must start with /", ref)
	}
	u := *c.base
	u.Path = c.base.Path + r.Path
	u.RawPath = c.base.EscapedPath() + r.EscapedPath()
	u.RawQuery = r.RawQuery
	return &u, nil
}

type bodyHookKey struct{}

// WithResponseBody returns a context whose calls hand the body of each
// successful (2xx) JSON answer to fn, as the API sent it, before decoding.
// It lets a caller show the API's own JSON while still getting typed values.
func WithResponseBody(ctx context.Context, fn func(body []byte)) context.Context {
	return context.WithValue(ctx, bodyHookKey{}, fn)
}

// call sends a request with an optional JSON body and decodes a 2xx JSON
// answer into out (if not nil). It returns the answer's status.
func (c *Client) call(ctx context.Context, method, path string, in, out any) (int, error) {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()

	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if len(raw) > maxAnswerBytes {
		return resp.StatusCode, fmt.Errorf("%s %s: answer larger than %d bytes", method, path,
			maxAnswerBytes)
	}
	if fn, ok := ctx.Value(bodyHookKey{}).(func([]byte)); ok && fn != nil {
		fn(raw)
	}
	if out == nil {
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return resp.StatusCode, nil
}

// send performs a request and returns a 2xx answer with its body unread; any
// other status comes back as an *APIError.
func (c *Client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	u, err := c.resolve(path)
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	c.setHeaders(req, in != nil)

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u.Redacted(), unwrapURLError(err))
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, readAPIError(resp)
	}
	return resp, nil
}

func (c *Client) setHeaders(req *http.Request, hasBody bool) {
	req.Header.Set("Accept", "application/json")
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.agent != "" {
		req.Header.Set("User-Agent", c.agent)
	}
	// The token goes to the API's own host only, never to a host an
	// absolute artifact URL points at.
	if c.token != "" && req.URL.Host == c.base.Host && req.URL.Scheme == c.base.Scheme {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}

// unwrapURLError drops the *url.Error layer, whose text repeats the method
// and URL the caller already names.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
