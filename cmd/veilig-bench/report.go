package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

type results struct {
	o         options
	modes     []*modeResult
	verify    verifyResult
	fdLimit   uint64
	load      string
	loadAfter string
}

func (r *results) mode(name string) *modeResult {
	for _, m := range r.modes {
		if m.mode == name {
			return m
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func (m *modeResult) startRate() float64 {
	if m == nil || m.startDur == 0 {
		return 0
	}
	return float64(m.starts) / m.startDur.Seconds()
}

func (m *modeResult) cpuPerContact() time.Duration {
	if m == nil || m.contacts == 0 {
		return 0
	}
	return m.contactServerCPU / time.Duration(m.contacts)
}

// meets is the verdict over the modes that measured something: met when
// each of them meets ok, and "not measured" when none did.
func meets(modes []*modeResult, measured, ok func(*modeResult) bool) string {
	n, good := 0, true
	for _, m := range modes {
		if m == nil || !measured(m) {
			continue
		}
		n++
		good = good && ok(m)
	}
	if n == 0 {
		return "not measured"
	}
	return verdict(good)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// markdown is the report: docs/benchmarks.md.
func (r *results) markdown() string {
	var b strings.Builder
	emb, ext := r.mode("embedded"), r.mode("external")
	p := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	p("# Benchmarks\n\n")
	p("Written by `cmd/veilig-bench` down to the hand-written part at the end, if any. Reproduce with\n\n```sh\n%s\n```\n\n", r.o.command)
	if r.o.short {
		p("**This is a short run (CI mode): the numbers are too small to mean anything.**\n\n")
	}
	p("Measured %s on %d CPU cores (%s/%s, %s); load average before %s, after %s; open files limit %d.\n",
		r.o.startedAt.Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), r.load, r.loadAfter, r.fdLimit)
	p("Demo scheme issuer key: %d bits%s.\n", r.o.keyBits, map[bool]string{true: " (the bundled demo scheme; production keys are 2048 bits: `-key-bits 2048`)", false: ""}[r.o.keyBits == 1024])
	p("Everything runs on this one machine at once: PostgreSQL 15 (its own cluster, fsync on), three `veilig serve`\n")
	p("replicas, irmago's requestor server as its own process, and the clients (real irmago wallets, telephony\n")
	p("requests, agent streams). The figures are therefore for comparing side by side, as ratios, not capacity.\n\n")

	p("## Results\n\n| measurement | embedded Yivi server | external Yivi server | target | |\n|---|---|---|---|---|\n")
	if emb != nil || ext != nil {
		p("| session starts per second (%d clients, %s) | %.0f | %.0f | ≥ 1,000 (embedded) | %s |\n",
			r.o.workers, r.o.startFor, emb.startRate(), ext.startRate(), meets([]*modeResult{emb}, func(m *modeResult) bool { return m.startDur > 0 }, func(m *modeResult) bool { return m.startRate() >= 1000 }))
		ratio := 0.0
		if ext.startRate() > 0 {
			ratio = emb.startRate() / ext.startRate()
		}
		ratioVerdict := "not measured"
		if emb.startRate() > 0 && ext.startRate() > 0 {
			ratioVerdict = verdict(ratio >= 2)
		}
		p("| embedded ÷ external session starts | %.2f× | | ≥ 2× | %s |\n", ratio, ratioVerdict)
		for _, m := range []*modeResult{emb, ext} {
			if m == nil {
				continue
			}
			_ = m
		}
		p("| telephony match p50 at %d req/s (open loop; %d runs of %s pooled) | %s | %s | | |\n", r.o.rate, r.o.matchRuns, r.o.matchFor, ms(percentile(emb.matchLatOrNil(), .5)), ms(percentile(ext.matchLatOrNil(), .5)))
		p("| telephony match p99 at %d req/s, pooled | %s | %s | < 10 ms | %s |\n", r.o.rate, ms(percentile(emb.matchLatOrNil(), .99)), ms(percentile(ext.matchLatOrNil(), .99)),
			meets([]*modeResult{emb, ext}, func(m *modeResult) bool { return len(m.matchLat) > 0 },
				func(m *modeResult) bool { return percentile(m.matchLat, .99) < 10*time.Millisecond }))
		p("| … p99 of each run | %s | %s | | |\n", runList(emb, false), runList(ext, false))
		p("| … p99 of the requests sent in each run's first %s (fresh replicas), pooled | %s | %s | | |\n", coldFor,
			ms(percentile(emb.coldOrNil(true), .99)), ms(percentile(ext.coldOrNil(true), .99)))
		p("| … p99 of the requests sent after that, pooled | %s | %s | | |\n",
			ms(percentile(emb.coldOrNil(false), .99)), ms(percentile(ext.coldOrNil(false), .99)))
		p("| telephony request → event on another replica's agent stream, p50 | %s | %s | | |\n", ms(percentile(emb.eventLatOrNil(), .5)), ms(percentile(ext.eventLatOrNil(), .5)))
		p("| telephony request → event on another replica's agent stream, p99, pooled | %s | %s | < 100 ms | %s |\n", ms(percentile(emb.eventLatOrNil(), .99)), ms(percentile(ext.eventLatOrNil(), .99)),
			meets([]*modeResult{emb, ext}, func(m *modeResult) bool { return len(m.eventLat) > 0 },
				func(m *modeResult) bool { return percentile(m.eventLat, .99) < 100*time.Millisecond }))
		p("| … p99 of each run | %s | %s | | |\n", runList(emb, true), runList(ext, true))
		p("| server CPU per complete verified contact (replicas + Yivi server) | %s | %s | | |\n", ms(emb.cpuPerContact()), ms(ext.cpuPerContact()))
		if r.verify.n > 0 {
			p("| irmago `Disclosure.Verify` CPU of the same disclosures (the floor): mean (median) | %s (%s) | | | |\n", ms(r.verify.mean), ms(r.verify.median))
			re, rx := float64(emb.cpuPerContact())/float64(r.verify.mean), float64(ext.cpuPerContact())/float64(r.verify.mean)
			p("| CPU per contact ÷ verification | %.2f× | %.2f× | ≤ 1.3× | %s |\n", re, rx, meets([]*modeResult{emb, ext}, func(m *modeResult) bool { return m.contacts > 0 },
				func(m *modeResult) bool { return float64(m.cpuPerContact())/float64(r.verify.mean) <= 1.3 }))
		}
		if emb.idleMeasured() || ext.idleMeasured() {
			p("| server CPU while idle, holding no Yivi session | %s/s | %s/s | | |\n", ms(emb.idlePerSecond()), ms(ext.idlePerSecond()))
			p("| … holding the sessions the start step left, unconnected | %s/s (%s) | %s/s (%s) | | |\n", ms(emb.heldPerSecond()), emb.heldCount(), ms(ext.heldPerSecond()), ext.heldCount())
			p("| … so each 1,000 sessions held cost (irmago's expiry scan) | %s/s | %s/s | | |\n", ms(emb.perThousandHeld()), ms(ext.perThousandHeld()))
		}
		if ext != nil && ext.streams > 0 {
			p("| memory per idle status stream, %d streams on one replica: RSS | | %.1f KB | < 30 KB | %s |\n", ext.streams, float64(ext.streamRSS)/float64(ext.streams)/1024, verdict(float64(ext.streamRSS)/float64(ext.streams) < 30*1024))
			p("| … Go heap + goroutine stacks in use | | %.1f KB + %.1f KB | | |\n", float64(ext.streamHeap)/float64(ext.streams)/1024, float64(ext.streamStacks)/float64(ext.streams)/1024)
		}
		p("| PostgreSQL CPU per complete contact | %s | %s | | |\n", ms(pgPer(emb)), ms(pgPer(ext)))
	}
	p("\nErrors: ")
	for _, m := range r.modes {
		p("%s: %d failed session starts, %d failed or unmatched calls, %d matched events not seen, %d failed contacts. ",
			m.mode, m.startErrors, m.matchErrors, m.eventsMissing, m.contactErrors)
	}
	if r.verify.n > 0 {
		p("Verification: %d of %d re-verifications VALID.", r.verify.valid, r.verify.n)
	} else if r.verify.err != nil {
		p("Verification failed: %v.", r.verify.err)
	}
	p("\n\n")
	b.WriteString(method)
	return b.String()
}

func (m *modeResult) idleMeasured() bool { return m != nil && m.idleFor > 0 }

func (m *modeResult) idlePerSecond() time.Duration {
	if m == nil || m.idleFor == 0 {
		return 0
	}
	return time.Duration(float64(m.idleCPU) / m.idleFor.Seconds())
}

func (m *modeResult) heldPerSecond() time.Duration {
	if m == nil || m.idleFor == 0 {
		return 0
	}
	return time.Duration(float64(m.heldCPU) / m.idleFor.Seconds())
}

func (m *modeResult) perThousandHeld() time.Duration {
	if m == nil || m.held == 0 {
		return 0
	}
	return time.Duration(float64(m.heldPerSecond()-m.idlePerSecond()) * 1000 / float64(m.held))
}

func (m *modeResult) heldCount() string {
	if m == nil {
		return "–"
	}
	return fmt.Sprintf("%d held", m.held)
}

// runList is each match run's p99, for the tail's spread between runs.
func runList(m *modeResult, events bool) string {
	if m == nil {
		return ""
	}
	ds := m.matchRunP99
	if events {
		ds = m.eventRunP99
	}
	if len(ds) == 0 {
		return ""
	}
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)))
	}
	return strings.Join(parts, ", ") + " ms"
}

func pgPer(m *modeResult) time.Duration {
	if m == nil || m.contacts == 0 {
		return 0
	}
	return m.contactPGCPU / time.Duration(m.contacts)
}

// coldFor is how long after a match run starts its requests count as
// sent to fresh replicas.
const coldFor = 1500 * time.Millisecond

// coldOrNil is the match latencies of requests sent in each run's first
// coldFor (cold) or after.
func (m *modeResult) coldOrNil(cold bool) []time.Duration {
	if m == nil {
		return nil
	}
	if cold {
		return m.matchColdLat
	}
	return m.matchWarmLat
}

func (m *modeResult) matchLatOrNil() []time.Duration {
	if m == nil {
		return nil
	}
	return m.matchLat
}

func (m *modeResult) eventLatOrNil() []time.Duration {
	if m == nil {
		return nil
	}
	return m.eventLat
}

const method = `## How each figure is measured

- **Session starts per second**: closed loop, the given number of clients each POSTing
  ` + "`/api/v1/sessions`" + ` (purpose demo) round robin to the three replicas' public listeners, after a
  one-second warm-up. Each start writes the session and its event (PostgreSQL, NOTIFY to every replica),
  starts the Yivi session (embedded: in memory; external: POST to the requestor server) and stores its
  token.
- **Telephony match**: an agent signs in on replica 2 and opens its stream, sessions are disclosed by real
  wallets, and a second after that preparation signed telephony requests with
  their codes go to replica 1's internal listener at a fixed rate, open loop (each request leaves at its
  scheduled time whatever earlier ones do, and its latency counts from that time, so a stall is not hidden).
- **Runs**: the match step runs several times, each on fresh replicas with freshly disclosed sessions; the
  table gives percentiles over all runs' requests together, and each run's p99 to show the spread (one
  short CPU stall decides the p99 of a run of a few seconds). The requests sent in a run's first 1.5 s,
  when its replicas have just started, are also shown apart from the rest (cold and warm p99).
- **Cross-replica event latency**: an agent stream (SSE) is open on replica 2 while the calls go to
  replica 1; the time from a call's scheduled send to its ` + "`matched`" + ` event arriving on that stream.
- **CPU per verified contact**: the user+system CPU of the replicas (and, in external mode, of the Yivi
  server process) over a run of complete contacts: session start, the wallet's disclosure (the Yivi
  protocol, proof verification, the status follow), the telephony match, the agent opening the contact
  (attributes decrypted, audit entry) and ending it. PostgreSQL's CPU is shown apart. The wallets run in
  the benchmark process and are not counted.
- **The floor**: some of those disclosures pass through a capturing proxy that keeps the request the app
  received (nonce, context) and the proofs it posted; the benchmark then runs irmago's
  ` + "`irma.Disclosure.Verify`" + ` on them again, twice, on one locked OS thread, and reports the thread
  CPU (CLOCK_THREAD_CPUTIME_ID) per verification; the ratio uses the mean, as the CPU per contact is one.
- **Idle CPU and sessions held**: the replicas' (and in external mode the Yivi server's) CPU over
  -idle-for with no requests, once before the session starts and once after, while the Yivi server
  holds every session just started (no app fetches them; they stay for their client timeout, the
  purpose's session lifetime). irmago v1.3.0 checks every session it holds for expiry every 10 s by
  deep-copying it through JSON; the difference, per 1,000 sessions held, is what that costs.
- **Each step runs on fresh replicas** (and, in external mode, a fresh Yivi server) with a database of
  its own, so no step pays for sessions an earlier step left behind.
- **Memory per idle stream**: sessions are started, then one status stream (SSE) per session is opened on
  replica 3 and left idle; the replica's RSS (from /proc) and Go heap + stack in use (its Prometheus
  metrics) before and after, divided by the number of streams. The benchmark raises its open files limit
  to the hard limit, and the replicas inherit it; each stream takes one descriptor in the replica.
`
