module github.com/cus-suite/cus/gateway

go 1.26.0

require (
	github.com/cus-suite/cus/platform v0.0.0
	github.com/cus-suite/cus/proto v0.0.0
)

require (
	github.com/grpc-ecosystem/grpc-gateway/v2 v2.33.0 // indirect
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace (
	github.com/cus-suite/cus/platform => ../platform
	github.com/cus-suite/cus/proto => ../proto
)
