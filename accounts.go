package veilig

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The rules for admins managing accounts. Each change is written with its
// audit entry in one transaction (Store.ChangeAccount), so there is no
// change without its entry and no entry without its change.

// PasswordHasher turns a password an admin chose into what the store keeps
// (package agentauth: argon2id). It returns EINVALID for a password it
// refuses (too short, too long).
type PasswordHasher func(password string) (string, error)

// NewAccount is what an admin gives to create an account.
type NewAccount struct {
	Username    string
	DisplayName string
	Role        Role
	Purposes    []string
	// Password is optional: an account without one signs in with single
	// sign-on only.
	Password string
}

// AccountPatch changes what it sets of an account.
type AccountPatch struct {
	DisplayName *string
	Role        *Role
	Purposes    *[]string
	Disabled    *bool
}

// Accounts lists the accounts of admin by's organisation.
func (s *Service) Accounts(ctx context.Context, by *Agent) ([]*Agent, error) {
	all, err := s.store.Agents(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Agent, 0, len(all))
	for _, a := range all {
		if OrganisationOr(a.OrgID) == OrganisationOr(by.OrgID) {
			out = append(out, a)
		}
	}
	return out, nil
}

// account returns account id if it is of admin by's organisation; another
// organisation's is answered as one that does not exist.
func (s *Service) account(ctx context.Context, by *Agent, id string) (*Agent, error) {
	a, err := s.store.Agent(ctx, id)
	if err == nil && OrganisationOr(a.OrgID) != OrganisationOr(by.OrgID) {
		err = Errorf(ENOTFOUND, "no such account")
	}
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "no such account")
	}
	return a, err
}

// CreateAccount makes an account on behalf of admin by.
//
// Error codes: EINVALID, ECONFLICT (the username is taken).
func (s *Service) CreateAccount(ctx context.Context, by *Agent, in NewAccount, remoteAddr string) (*Agent, error) {
	a := &Agent{
		ID: newID(), Username: in.Username, DisplayName: strings.TrimSpace(in.DisplayName),
		Role: in.Role, Purposes: in.Purposes, CreatedAt: s.now(), OrgID: OrganisationOr(by.OrgID),
	}
	if err := s.checkAccount(a); err != nil {
		return nil, err
	}
	if in.Password != "" {
		var err error
		if a.PasswordHash, err = s.hashPassword(in.Password); err != nil {
			return nil, err
		}
	}
	err := s.store.ChangeAccount(ctx, AccountChange{Agent: a, Create: true, Audit: s.accountAudit(by, AuditAccountCreated, a, remoteAddr, describeAccount(a))})
	if err != nil {
		return nil, err
	}
	s.log.Info("account created", "agent", a.ID, "by", by.ID)
	return a, nil
}

// UpdateAccount changes an account on behalf of admin by. An admin cannot
// disable their own account or take away their own admin role: they would
// need another admin (or the command line) to get back in. A disabled
// account is signed out at once.
//
// Error codes: EINVALID, ENOTFOUND, ECONFLICT (the admin's own account).
func (s *Service) UpdateAccount(ctx context.Context, by *Agent, id string, p AccountPatch, remoteAddr string) (*Agent, error) {
	a, err := s.account(ctx, by, id)
	if err != nil {
		return nil, err
	}
	wasDisabled := a.Disabled
	if p.DisplayName != nil {
		a.DisplayName = strings.TrimSpace(*p.DisplayName)
	}
	if p.Role != nil {
		a.Role = *p.Role
	}
	if p.Purposes != nil {
		a.Purposes = *p.Purposes
	}
	if p.Disabled != nil {
		a.Disabled = *p.Disabled
	}
	if err := s.checkAccount(a); err != nil {
		return nil, err
	}
	if a.ID == by.ID && (a.Disabled || a.Role != RoleAdmin) {
		return nil, Errorf(ECONFLICT, "you cannot disable your own account or take away your own admin role; ask another admin")
	}
	err = s.store.ChangeAccount(ctx, AccountChange{
		Agent: a, SignOut: a.Disabled && !wasDisabled,
		Audit: s.accountAudit(by, AuditAccountUpdated, a, remoteAddr, describeAccount(a)),
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("account updated", "agent", a.ID, "by", by.ID)
	return a, nil
}

// SetAccountPassword gives an account a new password and signs it out
// everywhere, so whoever knew the old one is out too.
//
// Error codes: EINVALID, ENOTFOUND.
func (s *Service) SetAccountPassword(ctx context.Context, by *Agent, id, password, remoteAddr string) error {
	a, err := s.account(ctx, by, id)
	if err != nil {
		return err
	}
	if a.PasswordHash, err = s.hashPassword(password); err != nil {
		return err
	}
	if err := s.store.ChangeAccount(ctx, AccountChange{Agent: a, SignOut: true, Audit: s.accountAudit(by, AuditAccountPassword, a, remoteAddr, "")}); err != nil {
		return err
	}
	s.log.Info("account password set", "agent", a.ID, "by", by.ID)
	return nil
}

func (s *Service) hashPassword(password string) (string, error) {
	if s.hasher == nil {
		return "", fmt.Errorf("accounts: no password hasher configured")
	}
	return s.hasher(password)
}

func (s *Service) accountAudit(by *Agent, action string, a *Agent, remoteAddr, detail string) *AuditEntry {
	return &AuditEntry{At: s.now(), AgentID: by.ID, Action: action, Subject: a.ID, Detail: detail, RemoteAddr: remoteAddr, OrgID: OrganisationOr(by.OrgID)}
}

// checkAccount reports the first problem with an account's fields.
func (s *Service) checkAccount(a *Agent) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if utf8.RuneCountInString(a.DisplayName) > 100 || strings.IndexFunc(a.DisplayName, unicode.IsControl) >= 0 {
		return Errorf(EINVALID, "the display name must be at most 100 characters, without control characters")
	}
	seen := map[string]bool{}
	for _, p := range a.Purposes {
		if seen[p] {
			return Errorf(EINVALID, "a purpose is listed twice")
		}
		seen[p] = true
		if p == "*" {
			continue
		}
		if pp, err := s.Purpose(p); err != nil || OrganisationOr(pp.OrgID) != OrganisationOr(a.OrgID) {
			return Errorf(EINVALID, "purposes must be configured purpose ids or \"*\"; %q is not", clip(p))
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// describeAccount says what an account holds, for the audit detail.
func describeAccount(a *Agent) string {
	return fmt.Sprintf("username=%s role=%s purposes=%s disabled=%t password=%t",
		a.Username, a.Role, strings.Join(a.Purposes, ","), a.Disabled, a.PasswordHash != "")
}
