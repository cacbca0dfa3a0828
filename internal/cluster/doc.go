// Package cluster runs the replicated topology of Veilig Contact on this
// machine with local processes: a PostgreSQL server of its own (initdb and
// pg_ctl on a temporary directory and a free port, never the machine's
// shared cluster), any number of `veilig serve` processes on it, a reverse
// proxy in front of them, and irmago's requestor server as the external
// Yivi server. The fault test and cmd/veilig-bench use it; deploy/compose
// describes the same topology with containers.
//
// Everything listens on 127.0.0.1 only.
package cluster
