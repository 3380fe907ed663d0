package storage

import (
	"flag"
	"time"
)

// GrowthFlags are the flags every service has for the data that would otherwise only grow: how long the change
// log keeps changes and how long request ids are remembered.
type GrowthFlags struct {
	ChangeRetention time.Duration
	RequestIDTTL    time.Duration
}

// Default windows: a month of changes (a follower or harvester away longer resyncs from a full listing) and a
// day of request ids (a client retries a request within minutes, not days).
const (
	DefaultChangeRetention = 720 * time.Hour
	DefaultRequestIDTTL    = 24 * time.Hour
)

// RegisterFlags declares --change-retention and --request-id-ttl on fs.
func (g *GrowthFlags) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&g.ChangeRetention, "change-retention", DefaultChangeRetention,
		"how long the change log keeps changes; consumers further behind get OUT_OF_RANGE CHANGES_COMPACTED and resync (0 keeps every change)")
	fs.DurationVar(&g.RequestIDTTL, "request-id-ttl", DefaultRequestIDTTL,
		"how long a request id is remembered for idempotent retries (0 remembers it forever)")
}

// Maintenance is the worker's configuration for these flags.
func (g GrowthFlags) Maintenance() Maintenance {
	return Maintenance{ChangeRetention: max(g.ChangeRetention, 0), RequestTTL: max(g.RequestIDTTL, 0)}
}
