package veilig

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Observer is told what happened, for metrics. Every field may be nil.
//
// Each is told the organisation it is about: a session's, or for a call
// the one whose line it came in on ("" when none's), so that figures can
// be read per organisation on a shared platform.
type Observer struct {
	SessionStarted func(orgID, purposeID string)
	Disclosure     func(orgID, purposeID string, outcome SessionState)
	Call           func(orgID, result string) // matched, no_match, malformed, proof_pending, rate_limited, invalid, no_line, other_line
	// GuessingAlarm is told when this replica sees the guessing alarm
	// raised (true) or lowered (false).
	GuessingAlarm func(raised bool)
	ContactOpened func(orgID, purposeID string)
}

// ServiceConfig holds what a Service needs.
type ServiceConfig struct {
	Store Store
	Bus   EventBus
	// Means are the means of proof, one per Means; every purpose must
	// accept one of them.
	Means []DisclosureService
	// Channels are the channels, one per Channel; every purpose must name
	// one of them.
	Channels []ChannelService
	Sealer   Sealer
	// OrgSealers are organisations' own keys: what is personal in an
	// organisation's sessions is sealed with its sealer, so one
	// organisation's keys open nothing of another's. An organisation
	// without one uses Sealer.
	OrgSealers map[string]Sealer
	// Organisations are the organisations served; none: one,
	// DefaultOrganisation. Every purpose must be of one of them.
	Organisations []*Organisation
	Purposes      []*Purpose
	// SecretKey derives the keys for code hashes and caller hashes: it must
	// stay the same across replicas and restarts while sessions live.
	SecretKey      []byte
	MissLimits     MissLimits
	MaxContact     time.Duration // a matched contact never reported ended is ended after this
	AuditRetention time.Duration
	Clock          Clock
	Logger         *slog.Logger
	Observer       Observer
	// ReplicaID names this process among the replicas sharing the store,
	// in the follows of unfinished disclosures; "" draws a random one.
	// It must differ between processes, and should between restarts.
	ReplicaID string
	// FollowLease is how long a replica's follow of a disclosure lasts
	// without renewal, so about how long a lost replica's disclosures wait
	// for another replica to take them over. Default 15 s.
	FollowLease time.Duration
	// ProofWait bounds how long a call whose code belongs to a proof still
	// being made waits for it; default DefaultProofWait.
	ProofWait time.Duration
	// HashPassword hashes the passwords admins set (agentauth.HashPassword);
	// without it accounts can only be given none (single sign-on).
	HashPassword PasswordHasher
}

// Service is the core of Veilig Contact: it starts sessions, judges
// disclosures, matches calls to sessions, hands contacts to agents and
// destroys what they saw. It is safe for concurrent use; all state is in the
// store, so any number of replicas may run one each.
//
// Its methods are filed by who calls them: citizen.go (the widget: start,
// status, cancel), proof.go (the means: a disclosure followed and judged),
// follow.go (replicas taking over each other's follows), call.go (the
// telephony platforms), contacts.go (agents), stream.go (event streams)
// and maintenance.go (expiry and retention).
type Service struct {
	store          Store
	bus            EventBus
	means          map[Means]DisclosureService
	channels       map[Channel]ChannelService
	sealer         Sealer
	orgSealers     map[string]Sealer
	soleOrg        string // the organisation, when there is one
	purposes       map[string]*Purpose
	orgs           map[string]*Organisation
	orgPurposes    map[string][]string // purpose ids by organisation
	lineOrgs       map[string]string   // the organisation of each line (LineSettings) a connection comes in on
	purposeOrder   []*Purpose
	codeKey        []byte
	callerKey      []byte
	limits         MissLimits
	maxContact     time.Duration
	auditRetention time.Duration
	now            Clock
	log            *slog.Logger
	obs            Observer
	proofWait      time.Duration
	hasher         PasswordHasher
	guessing       guessing

	// Following disclosures across replicas: set only when the store
	// records follows and a means lets another process follow a proof (an
	// external Yivi server).
	replicaID   string
	follows     DisclosureFollows
	followLease time.Duration
	following   following
}

// NewService checks cfg and returns a Service.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Store == nil || cfg.Bus == nil || len(cfg.Means) == 0 || len(cfg.Channels) == 0 || cfg.Sealer == nil {
		return nil, errors.New("service: store, bus, a means of proof, a channel and sealer are required")
	}
	if len(cfg.SecretKey) < 32 {
		return nil, errors.New("service: secret key must be at least 32 bytes")
	}
	s := &Service{
		store: cfg.Store, bus: cfg.Bus, sealer: cfg.Sealer, means: map[Means]DisclosureService{},
		channels:       map[Channel]ChannelService{},
		purposes:       map[string]*Purpose{},
		orgs:           map[string]*Organisation{},
		orgPurposes:    map[string][]string{},
		lineOrgs:       map[string]string{},
		codeKey:        deriveKey(cfg.SecretKey, "code"),
		callerKey:      deriveKey(cfg.SecretKey, "caller"),
		limits:         cfg.MissLimits,
		maxContact:     cfg.MaxContact,
		auditRetention: cfg.AuditRetention,
		now:            cfg.Clock,
		log:            cfg.Logger,
		obs:            cfg.Observer,
	}
	orgs := cfg.Organisations
	if len(orgs) == 0 {
		orgs = []*Organisation{{ID: DefaultOrganisation}}
	}
	for _, o := range orgs {
		if _, dup := s.orgs[o.ID]; dup || !ValidOrganisationID(o.ID) {
			return nil, fmt.Errorf("service: organisation %q configured twice or not a valid id", o.ID)
		}
		s.orgs[o.ID] = o
	}
	if len(orgs) == 1 {
		s.soleOrg = orgs[0].ID
	}
	for _, p := range cfg.Purposes {
		if _, dup := s.purposes[p.ID]; dup {
			return nil, fmt.Errorf("service: purpose %q configured twice", p.ID)
		}
		if _, ok := s.orgs[OrganisationOr(p.OrgID)]; !ok {
			return nil, fmt.Errorf("service: purpose %q is of organisation %q, which is not configured", p.ID, p.OrgID)
		}
		s.orgPurposes[OrganisationOr(p.OrgID)] = append(s.orgPurposes[OrganisationOr(p.OrgID)], p.ID)
		if ls, ok := p.ChannelSettings.(LineSettings); ok {
			for _, line := range ls.Lines() {
				if other, taken := s.lineOrgs[line]; taken && other != OrganisationOr(p.OrgID) {
					return nil, fmt.Errorf("service: %s is a line of organisations %q and %q", line, other, OrganisationOr(p.OrgID))
				}
				s.lineOrgs[line] = OrganisationOr(p.OrgID)
			}
		}
		s.purposes[p.ID] = p
		s.purposeOrder = append(s.purposeOrder, p)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxContact <= 0 {
		s.maxContact = 12 * time.Hour
	}
	if s.auditRetention <= 0 {
		s.auditRetention = 366 * 24 * time.Hour
	}
	s.hasher = cfg.HashPassword
	s.orgSealers = cfg.OrgSealers
	s.proofWait = cfg.ProofWait
	if s.proofWait <= 0 {
		s.proofWait = DefaultProofWait
	}
	s.replicaID = cfg.ReplicaID
	if s.replicaID == "" {
		s.replicaID = newID()
	}
	s.followLease = cfg.FollowLease
	if s.followLease <= 0 {
		s.followLease = 15 * time.Second
	}
	anyFollower := false
	for _, m := range cfg.Means {
		if _, dup := s.means[m.Means()]; dup {
			return nil, fmt.Errorf("service: means %q configured twice", m.Means())
		}
		s.means[m.Means()] = m
		_, f := m.(DisclosureFollower)
		anyFollower = anyFollower || f
	}
	for _, c := range cfg.Channels {
		if _, dup := s.channels[c.Channel()]; dup {
			return nil, fmt.Errorf("service: channel %q configured twice", c.Channel())
		}
		s.channels[c.Channel()] = c
	}
	for _, p := range s.purposeOrder {
		if err := s.checkPurpose(p); err != nil {
			return nil, err
		}
	}
	if follows, ok := cfg.Store.(DisclosureFollows); ok && anyFollower {
		s.follows = follows
	}
	return s, nil
}

// sealerFor is the sealer of organisation org's personal data.
func (s *Service) sealerFor(org string) Sealer {
	if sl, ok := s.orgSealers[OrganisationOr(org)]; ok {
		return sl
	}
	return s.sealer
}

// checkPurpose checks that purpose p can be served: its channel and a
// means it accepts are configured, and one of those reaches its least
// assurance.
func (s *Service) checkPurpose(p *Purpose) error {
	ch, ok := s.channels[p.Channel]
	if !ok {
		return fmt.Errorf("service: purpose %q: no channel %q is configured", p.ID, p.Channel)
	}
	if problems := ch.CheckPurpose(p); len(problems) > 0 {
		return fmt.Errorf("service: purpose %q: %s", p.ID, strings.Join(problems, "; "))
	}
	if s.meansFor(p) == nil {
		return fmt.Errorf("service: no means of proof that purpose %q accepts is configured", p.ID)
	}
	for _, m := range s.acceptedMeans(p) {
		if d, ok := s.means[m]; ok && d.MaxAssurance().AtLeast(p.MinAssurance) {
			return nil
		}
	}
	return fmt.Errorf("service: purpose %q: no configured means it accepts reaches min_assurance %s", p.ID, p.MinAssurance)
}

// acceptedMeans is the means purpose p accepts, in its order (Yivi when it
// names none).
func (s *Service) acceptedMeans(p *Purpose) []Means {
	if len(p.Means) == 0 {
		return []Means{MeansYivi}
	}
	return p.Means
}

// meansFor is the means a purpose's proofs start with: the first it
// accepts that is configured (Yivi when it names none).
func (s *Service) meansFor(p *Purpose) DisclosureService {
	for _, m := range s.acceptedMeans(p) {
		if d, ok := s.means[m]; ok {
			return d
		}
	}
	return nil
}

func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("veilig-key\x00" + purpose))
	return m.Sum(nil)
}

// Purpose returns a configured purpose; ENOTFOUND.
func (s *Service) Purpose(id string) (*Purpose, error) {
	if p, ok := s.purposes[id]; ok {
		return p, nil
	}
	return nil, Errorf(ENOTFOUND, "unknown purpose")
}

// OrganisationByID returns organisation id ("" is DefaultOrganisation),
// if it is served.
func (s *Service) OrganisationByID(id string) (*Organisation, bool) {
	o, ok := s.orgs[OrganisationOr(id)]
	return o, ok
}

// Organisations returns the organisations served.
func (s *Service) Organisations() []*Organisation {
	out := make([]*Organisation, 0, len(s.orgs))
	for _, o := range s.orgs {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b *Organisation) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Purposes returns the configured purposes in configuration order.
func (s *Service) Purposes() []*Purpose { return s.purposeOrder }

// OriginAllowedAnywhere reports whether any purpose allows origin; used to
// answer CORS preflights, which do not say which purpose they are for.
func (s *Service) OriginAllowedAnywhere(origin string) bool {
	for _, p := range s.purposeOrder {
		if p.AllowsOrigin(origin) {
			return true
		}
	}
	return false
}
