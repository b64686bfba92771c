module github.com/camo-fleet/camo-fleet

go 1.26.8

require (
	github.com/coder/websocket v1.8.15 // indirect
	github.com/deckarep/golang-set/v2 v2.8.0 // indirect
	github.com/getkin/kin-openapi v0.153.0 // indirect
	github.com/go-stack/stack v1.8.1 // indirect
	github.com/mxschmitt/playwright-go v0.6401.0 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
