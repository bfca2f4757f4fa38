package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// Role is a part of the daemon a process may run (the roles config key):
// every process of a cluster runs `strongroom serve`, and each is told
// which parts are its own.
type Role string

const (
	// RoleIntake watches the hot folders: one watcher per folder in the
	// whole cluster, under a lease in the catalog.
	RoleIntake Role = "intake"
	// RoleStages runs the pipeline's stages (OCR among them) from the
	// catalog's work list, and makes spread pages: as many processes as
	// there are machines.
	RoleStages Role = "stages"
	// RoleOCR makes spread pages only (pipeline.spread_pages): a machine
	// that lends its cores to the OCR of other machines' books.
	RoleOCR Role = "ocr"
	// RoleAudit runs the audit scheduler and the retention proposals: one
	// in the cluster, under a lease.
	RoleAudit Role = "audit"
	// RoleHTTP serves the review page, the API and the push API.
	RoleHTTP Role = "http"
)

// Roles are every role there is.
var Roles = []Role{RoleIntake, RoleStages, RoleOCR, RoleAudit, RoleHTTP}

// CheckRoles says what is wrong with a roles list.
func CheckRoles(roles []Role) error {
	if len(roles) == 0 {
		return fmt.Errorf("roles: empty: give at least one of %v", Roles)
	}
	for _, r := range roles {
		if !slices.Contains(Roles, r) {
			return fmt.Errorf("roles: %q is not a role (want some of %v)", r, Roles)
		}
	}
	return nil
}

// RoleLease is how long a held role's lease runs: a role whose holder
// died is taken over by another process within RoleLease plus one try
// (RoleLease/3), 20 s.
const RoleLease = 15 * time.Second

// WhileHolding runs run while holder holds role in the catalog, from the
// moment it takes the role until ctx ends or the role is lost; meanwhile
// it renews the lease every ttl/3. A process that cannot renew (the
// catalog unreachable) stops run before its lease can lapse, so that two
// never hold one role. It keeps trying to take the role while another
// holds it, and gives it up when ctx ends so that another takes it at
// once. It returns run's error if run fails on its own.
func WhileHolding(ctx context.Context, cat catalog.Roles, role, holder string, ttl time.Duration, log *slog.Logger, now func() time.Time,
	run func(context.Context) error) error {
	tick := ttl / 3
	waitTick := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(tick):
			return true
		}
	}
	for {
		at := now()
		ok, current, err := cat.HoldRole(ctx, role, holder, at, at.Add(ttl))
		if err != nil && ctx.Err() == nil {
			log.Warn("role: cannot reach the catalog", "role", role, "error", err)
		}
		if !ok && err == nil && gone(current) {
			// Its holder died on this machine (a restart after kill -9):
			// no need to wait for its lease to lapse.
			if err := cat.DropRole(ctx, role, current); err == nil {
				log.Warn("role: its holder is gone; taking it", "role", role, "from", current)
				continue
			}
		}
		if !ok {
			if !waitTick() {
				return nil
			}
			continue
		}
		log.Info("role taken", "role", role, "holder", holder, "from", current)
		if err := holding(ctx, cat, role, holder, ttl, log, now, at, run); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// holding runs run while the lease taken at taken is renewed; it returns
// run's own error, or nil when ctx ended or the role was lost.
func holding(ctx context.Context, cat catalog.Roles, role, holder string, ttl time.Duration, log *slog.Logger, now func() time.Time,
	taken time.Time, run func(context.Context) error) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(rctx) }()
	renewed := taken
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			drop(ctx, cat, role, holder, log)
			if ctx.Err() != nil {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("role %s ended on its own", role)
			}
			return err
		case <-t.C:
			at := now()
			ok, current, err := cat.HoldRole(ctx, role, holder, at, at.Add(ttl))
			switch {
			case ok:
				renewed = at
				continue
			case err == nil:
				log.Warn("role lost to another holder", "role", role, "holder", current)
			case at.Sub(renewed) < ttl-ttl/3:
				log.Warn("role: cannot renew; still held", "role", role, "error", err)
				continue
			default:
				log.Warn("role given up: its lease could not be renewed before it lapses", "role", role, "error", err)
			}
			cancel()
			<-done
			return nil
		}
	}
}

func drop(ctx context.Context, cat catalog.Roles, role, holder string, log *slog.Logger) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := cat.DropRole(dctx, role, holder); err != nil {
		log.Warn("role: not given up (it lapses instead)", "role", role, "error", err)
		return
	}
	log.Info("role given up", "role", role)
}
