package audit

import "time"

// LogProgressEvery sets how often a run logs its progress, for a test, and
// returns the func that puts it back.
func LogProgressEvery(d time.Duration) func() {
	was := logProgressEvery
	logProgressEvery = d
	return func() { logProgressEvery = was }
}
