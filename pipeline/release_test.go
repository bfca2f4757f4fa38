package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strongroom-archive/strongroom/formats/testenv"
	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// stepTo runs item id's stages until it reaches stage.
func (te *testEnv) stepTo(t *testing.T, id string, stage catalog.Stage) *catalog.Item {
	t.Helper()
	for {
		it, err := te.Catalog.Item(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if it.Stage == stage {
			return it
		}
		if it.Stage.Terminal() {
			t.Fatalf("item reached %s (%s) before %s", it.Stage, it.LastError, stage)
		}
		if _, err := te.Step(context.Background(), id); err != nil {
			t.Fatalf("step %s: %v", it.Stage, err)
		}
	}
}

// storedPayload returns the bytes of path in the item's stored bag.
func (te *testEnv) storedPayload(t *testing.T, it *catalog.Item, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(te.storeDir, it.BagID, "data", filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReleaseReverifies: an original that changed after intake, in any of
// the ways a user or a scanner changes files, is never released (moved to
// done/ or deleted) with bytes that are in no bag. The item is stored with
// the bytes it took; the changed file goes back to the hot folder and
// becomes a new item that names the first.
func TestReleaseReverifies(t *testing.T) {
	first := pngBytes(t, 60, 40)
	other := tiffBytes(t, 70, 30)
	cases := []struct {
		name    string
		release catalog.Release
		change  func(t *testing.T, p string) // p: the original in the hot folder
		held    bool                         // not released: left for a new item
	}{
		{"rename-replace", catalog.ReleaseMove, func(t *testing.T, p string) {
			tmp := filepath.Join(filepath.Dir(p), ".x")
			put(t, tmp, other)
			if err := os.Rename(tmp, p); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"rename-replace, remove_originals", catalog.ReleaseDelete, func(t *testing.T, p string) {
			tmp := filepath.Join(filepath.Dir(p), ".x")
			put(t, tmp, other)
			os.Rename(tmp, p)
		}, true},
		{"overwritten in place", catalog.ReleaseMove, func(t *testing.T, p string) {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(other)
			f.Close()
		}, true},
		{"appended after settle", catalog.ReleaseMove, func(t *testing.T, p string) {
			f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			f.Write([]byte("the rest of the file"))
			f.Close()
		}, true},
		{"same bytes, touched", catalog.ReleaseMove, func(t *testing.T, p string) {
			later := time.Now().Add(time.Hour)
			os.Chtimes(p, later, later)
		}, true},
		{"deleted during processing", catalog.ReleaseMove, func(t *testing.T, p string) {
			os.Remove(p)
		}, false},
		{"unchanged", catalog.ReleaseDelete, func(*testing.T, string) {}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			te := newTestEnv(t)
			ctx := context.Background()
			src := put(t, filepath.Join(te.hot, "r.png"), first)
			it, err := te.NewItem(ctx, ItemSpec{Path: src, HotFolder: te.hot, Release: c.release})
			if err != nil {
				t.Fatal(err)
			}
			te.stepTo(t, it.ID, catalog.StageRelease)
			c.change(t, src)
			after, _ := os.ReadFile(src)
			it, err = te.Run(ctx, it.ID)
			if err != nil || it.Stage != catalog.StageDone {
				t.Fatalf("stage %s, %v: %s", it.Stage, err, it.LastError)
			}
			// The bag holds the bytes that were taken, whatever happened.
			if got := te.storedPayload(t, it, "original/r.png"); !bytes.Equal(got, first) {
				t.Fatal("the stored bag does not hold the original as taken")
			}
			inDone, inHot := exists(filepath.Join(te.done, "r.png")), exists(src)
			switch {
			case c.held:
				if inDone || !inHot || it.Held != src {
					t.Fatalf("changed original released: in done %v, in hot %v, held %q", inDone, inHot, it.Held)
				}
				if now, _ := os.ReadFile(src); !bytes.Equal(now, after) {
					t.Fatal("the changed original is not what the user left")
				}
				alerts, _ := te.cat.Alerts(ctx, it.BagID)
				if len(alerts) != 1 || alerts[0].Problem != "original-changed" {
					t.Errorf("alerts %+v", alerts)
				}
				// The hot folder takes it as a new item, which follows the first.
				next, err := te.NewItem(ctx, ItemSpec{Path: src, HotFolder: te.hot, Release: c.release})
				if err != nil {
					t.Fatal(err)
				}
				if next.Follows != it.ID {
					t.Errorf("new item follows %q, want %s", next.Follows, it.ID)
				}
				next, err = te.Run(ctx, next.ID)
				switch {
				case err != nil:
					t.Fatal(err)
				case next.Stage == catalog.StageFailed:
					// A PNG with text appended is no PNG: it fails, with a
					// reason, and is kept in failed/ as the user left it.
					if got, _ := os.ReadFile(filepath.Join(te.failed, "r.png")); !bytes.Equal(got, after) || !exists(filepath.Join(te.failed, "r.png.reason.json")) {
						t.Errorf("the failed new item is not in failed/ with a reason: %s", next.LastError)
					}
				default:
					if got := te.storedPayload(t, next, "original/r.png"); !bytes.Equal(got, after) {
						t.Error("the new item's bag does not hold the changed file")
					}
					// Its bag names the first one's group (bag-info).
					info, _ := os.ReadFile(filepath.Join(te.storeDir, next.BagID, "bag-info.txt"))
					if !strings.Contains(string(info), "Bag-Group-Identifier: "+it.BagID+"\n") {
						t.Errorf("the new bag is not in the first one's group:\n%s", info)
					}
				}
				evs, _ := te.cat.Events(ctx, next.ID)
				if !hasEvent(evs, catalog.EvIngestion, "follows item "+it.ID) {
					t.Errorf("no ingestion event linking to %s: %+v", it.ID, evs)
				}
				evs, _ = te.cat.Events(ctx, it.ID)
				if !hasEvent(evs, catalog.EvFixityCheck, "changed after intake") || !hasEvent(evs, catalog.EvIngestion, "taken again as item "+next.ID) {
					t.Errorf("first item's history does not say what happened: %+v", evs)
				}
			case c.name == "deleted during processing":
				if inDone || inHot {
					t.Errorf("in done %v, in hot %v", inDone, inHot)
				}
			default:
				if inHot || inDone != (c.release == catalog.ReleaseMove) {
					t.Errorf("in done %v, in hot %v", inDone, inHot)
				}
			}
			// Nothing is left set aside in the hot folder.
			if left, _ := filepath.Glob(filepath.Join(te.hot, ".strongroom-*")); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

func hasEvent(evs []catalog.Event, typ catalog.EventType, detail string) bool {
	for _, e := range evs {
		if e.Type == typ && strings.Contains(e.Detail, detail) {
			return true
		}
	}
	return false
}

// TestBatchReleaseReverifies: a page added to a batch folder after it was
// taken keeps the whole folder back (the page is in no bag); a page removed
// lets the rest go, with a warning in the history.
func TestBatchReleaseReverifies(t *testing.T) {
	for _, added := range []bool{true, false} {
		te := newTestEnv(t)
		ctx := context.Background()
		book := filepath.Join(te.hot, "book")
		for i := range 3 {
			put(t, filepath.Join(book, "p"+string(rune('1'+i))+".png"), pngBytes(t, 20+i, 20))
		}
		it, _ := te.NewItem(ctx, ItemSpec{Path: book, HotFolder: te.hot, Release: catalog.ReleaseMove})
		te.stepTo(t, it.ID, catalog.StageRelease)
		if added {
			put(t, filepath.Join(book, "p4.png"), pngBytes(t, 30, 20))
		} else {
			os.Remove(filepath.Join(book, "p2.png"))
		}
		it, err := te.Run(ctx, it.ID)
		if err != nil || it.Stage != catalog.StageDone {
			t.Fatalf("%s %v", it.Stage, err)
		}
		evs, _ := te.cat.Events(ctx, it.ID)
		if added {
			if exists(filepath.Join(te.done, "book")) || !exists(filepath.Join(book, "p4.png")) || it.Held != book {
				t.Error("a batch with a page in no bag was released")
			}
			if !hasEvent(evs, catalog.EvFixityCheck, "added: book/p4.png") {
				t.Errorf("events %+v", evs)
			}
			// The book with its late page is a new item, whose bag is in
			// the first one's group, and an alert says so.
			if alerts, _ := te.cat.Alerts(ctx, it.BagID); len(alerts) != 1 || alerts[0].Problem != catalog.ProblemOriginalChanged {
				t.Errorf("alerts of the first bag: %+v", alerts)
			}
			next := te.ingest(t, book)
			info, _ := os.ReadFile(filepath.Join(te.storeDir, next.BagID, "bag-info.txt"))
			if next.Stage != catalog.StageDone || next.Follows != it.ID || !strings.Contains(string(info), "Bag-Group-Identifier: "+it.BagID+"\n") ||
				!exists(filepath.Join(te.storeDir, next.BagID, "data", "original", "book", "p4.png")) {
				t.Errorf("the book with its late page: %s, follows %q:\n%s", next.Stage, next.Follows, info)
			}
		} else {
			if !exists(filepath.Join(te.done, "book", "p3.png")) || exists(book) {
				t.Error("the rest of the batch was not released")
			}
			if !hasEvent(evs, catalog.EvFixityCheck, "removed from the hot folder before release") {
				t.Errorf("events %+v", evs)
			}
		}
	}
}

// TestChangedWhileReadForFixity: a file written to while fixity reads it
// fails fixity (and is read again later): a torn read is never recorded as
// the file's digest.
func TestChangedWhileReadForFixity(t *testing.T) {
	p := filepath.Join(t.TempDir(), "growing.tif")
	put(t, p, bytes.Repeat([]byte("scan"), 16<<20)) // 64 MiB: the read takes a while
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a scanner still writing
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				f.Write([]byte("more"))
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	_, err = readFixity(context.Background(), p, nil)
	close(stop)
	<-done
	if err == nil || !strings.Contains(err.Error(), "changed while it was read") {
		t.Fatalf("got %v, want a change seen during the read", err)
	}
	if classify(err) != retry {
		t.Errorf("a file still being written is retried, not failed at once or waited for: class %d", classify(err))
	}
}

// TestCrossFilesystemMoveKeepsModeAndTime: done_dir on another file system
// (a share, tmpfs) gets a copy with the originals' modes and modification
// times, not 0600 files stamped now.
func TestCrossFilesystemMoveKeepsModeAndTime(t *testing.T) {
	other, err := os.MkdirTemp("/dev/shm", "strongroom-test-")
	if err != nil {
		testenv.Missing(t, "no /dev/shm to move across file systems: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(other) })
	te := newTestEnv(t)
	if st1, st2 := devOf(t, te.hot), devOf(t, other); st1 == st2 {
		testenv.Missing(t, "%s and /dev/shm are one file system here", te.hot)
	}
	te.DoneDir = filepath.Join(other, "done")
	book := filepath.Join(te.hot, "book")
	p1 := put(t, filepath.Join(book, "sub", "p1.png"), pngBytes(t, 20, 20))
	os.Chmod(p1, 0o640)
	old := time.Date(2019, 5, 4, 3, 2, 1, 0, time.UTC)
	os.Chtimes(p1, old, old)
	os.Chtimes(filepath.Join(book, "sub"), old, old)
	it := te.ingest(t, book)
	if it.Stage != catalog.StageDone {
		t.Fatalf("%s: %s", it.Stage, it.LastError)
	}
	moved := filepath.Join(te.DoneDir, "book", "sub", "p1.png")
	fi, err := os.Stat(moved)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 || !fi.ModTime().Equal(old) {
		t.Errorf("moved file: mode %v, mtime %v; want 0640, %v", fi.Mode().Perm(), fi.ModTime(), old)
	}
	if di, _ := os.Stat(filepath.Join(te.DoneDir, "book", "sub")); !di.ModTime().Equal(old) {
		t.Errorf("moved folder mtime %v, want %v", di.ModTime(), old)
	}
	if exists(book) {
		t.Error("source still in the hot folder")
	}
}

func devOf(t *testing.T, p string) uint64 {
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Dev
}
