// Package trials holds the daemon trials of the real strongroom binary:
// kill -9 at random moments, steps longer than the queue's ack deadline,
// a store taken away, a service user without a home, memory budgets. They
// live apart from cmd/strongroom's CLI tests so that go test runs the two
// packages side by side; the long ones are in the long tier
// (testenv.Long).
package trials
