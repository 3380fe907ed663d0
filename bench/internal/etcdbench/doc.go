// Package etcdbench holds the figures of raw etcd on this machine that docs/etcd.md reports: durable puts per
// second from etcd's own client at 64 callers against a one-member and a three-member cluster, the time writes
// stop when the leader is killed, and the database size and memory of a member holding N service records. They
// are the ceiling the suite's etcd storage engine is compared with. The package has only benchmarks (run with
// -benchtime 1x; see each one's doc for its environment variables).
package etcdbench
