// Package collectortest runs a built collector as a child process for the
// end-to-end tests (e2e) and the load harness (cmd/benchharness): starting
// and stopping it (Start, Process), and reading its CPU time, memory and
// writes from /proc (CPUTicks, RSSKiB, Writes). Linux only, like both users.
package collectortest
