package review

import (
	"net/http"
	"slices"
	"time"

	"github.com/strongroom-archive/strongroom/pipeline/catalog"
)

// Who may see what. Deny by default: a role sees what is listed for it,
// and nothing else.
//
//	                      anonymous      reader               reviewer, admin
//	description of item   open           open, restricted     all
//	content of item       open, not      open, restricted,    all
//	(access copy, page    under embargo  not under embargo
//	images, snippets)
//	packages, originals,  —              —                    all
//	tag files, alerts,
//	store locations,
//	history, failed items
//	correct descriptions  —              —                    admin
//
// Items without an access level (stored before there were levels) are
// closed until someone gives them one. A born-digital PDF kept without an
// access copy is content. What u may not see is not found for u. Search
// results, snippets, boxes and thumbnails are content: they obey the
// content rule.

// anonymous is the user without a token on a public server.
var anonymous = &user{Name: "anonymous", Role: RoleAnonymous}

// rank orders the roles: each may do what those before it may.
var rank = []string{RoleAnonymous, RoleReader, RoleReviewer, RoleAdmin}

// atLeast reports whether u's role is need or above it.
func (u *user) atLeast(need string) bool {
	return u != nil && slices.Index(rank, u.Role) >= slices.Index(rank, need) && slices.Index(rank, need) >= 0
}

// staff are preservation staff: every item, whatever its level.
func (u *user) staff() bool { return u.atLeast(RoleReviewer) }

// levels are the access levels whose descriptions u may see; nil: all.
func (u *user) levels() []catalog.AccessLevel {
	switch {
	case u.staff():
		return nil
	case u.atLeast(RoleReader):
		return []catalog.AccessLevel{catalog.AccessOpen, catalog.AccessRestricted}
	case u.atLeast(RoleAnonymous):
		return []catalog.AccessLevel{catalog.AccessOpen}
	}
	return []catalog.AccessLevel{}
}

// mayDescribe reports whether u may see an item's description.
func (u *user) mayDescribe(m catalog.Metadata) bool {
	l := u.levels()
	return l == nil || slices.Contains(l, m.Access)
}

// mayRead reports whether u may see an item's content at now.
func (u *user) mayRead(m catalog.Metadata, now time.Time) bool {
	return u.mayDescribe(m) && (u.staff() || !m.Embargoed(now))
}

// embargoDay is the day embargoes are judged on for u's searches: "" for
// staff, whom no embargo stops.
func (u *user) embargoDay(now time.Time) string {
	if u.staff() {
		return ""
	}
	return now.UTC().Format(time.DateOnly)
}

// refused logs a refusal: who, what, why. Never the token.
func (s *Server) refused(r *http.Request, u *user, why string) {
	name, role := "", ""
	if u != nil {
		name, role = u.Name, u.Role
	}
	s.Log.Warn("access refused", "user", name, "role", role, "method", r.Method, "path", r.URL.Path, "why", why, "remote", r.RemoteAddr)
}
