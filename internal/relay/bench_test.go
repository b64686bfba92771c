package relay

import (
	"context"
	"testing"

	"github.com/coder/websocket"
)

// benchMessage is a small Playwright-like protocol message.
var benchMessage = []byte(`{"id":42,"guid":"page@3f2a","method":"evaluateExpression",` +
	`"params":{"expression":"() => 1 + 1","isFunction":true,"arg":{"value":{"v":"undefined"}}}}`)

func BenchmarkRelayRoundTrip(b *testing.B) {
	ctx := b.Context()
	rs := startRelay(b, ctx, startEcho(b).url, Options{})
	benchRoundTrip(b, ctx, rs.url)
}

func BenchmarkDirectRoundTrip(b *testing.B) {
	ctx := b.Context()
	benchRoundTrip(b, ctx, startEcho(b).url)
}

// benchRoundTrip measures one small echo per iteration through url.
func benchRoundTrip(b *testing.B, ctx context.Context, url string) {
	c, _ := dial(b, ctx, url)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchMessage)))
	for b.Loop() {
		if err := c.Write(ctx, websocket.MessageText, benchMessage); err != nil {
			b.Fatalf("write: %v", err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			b.Fatalf("read: %v", err)
		}
	}
	b.StopTimer()
	c.Close(websocket.StatusNormalClosure, "")
}
