package bench

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// AgentPath is where an agent takes load jobs.
const AgentPath = "/v1/load"

// AgentJob is the share of a load test one agent runs. The cluster it
// loads (API, key, app) is the agent's own configuration: no credential
// travels with a job.
type AgentJob struct {
	Sessions          int           `json:"sessions"`
	ViewersPerSession int           `json:"viewers_per_session"`
	Transport         string        `json:"transport"`
	Duration          time.Duration `json:"duration"`
	Publish           bool          `json:"publish"`
	BitrateBps        int64         `json:"bitrate_bps"`
	FPS               int           `json:"fps"`
}

// Agent is a load generator that a controller on another host drives
// over HTTP (`strata bench agent`): it runs one job at a time against
// the cluster in Load and answers with the LoadResult.
type Agent struct {
	// Load holds the cluster access (Client, TLS, TenantID, AppID,
	// Region); each job sets the rest.
	Load LoadOptions
	// Token is the bearer token controllers must present.
	Token string

	mu   sync.Mutex
	busy bool
}

var _ http.Handler = (*Agent)(nil)

// agentError is an agent's error answer, in the API's error shape.
type agentError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeAgentError(w http.ResponseWriter, status int, code, msg string) {
	var e agentError
	e.Error.Code, e.Error.Message = code, msg
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

// ServeHTTP runs a POSTed AgentJob and answers with its LoadResult.
func (a *Agent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path != AgentPath:
		writeAgentError(w, http.StatusNotFound, "not_found", "no such path")
		return
	case r.Method != http.MethodPost:
		writeAgentError(w, http.StatusMethodNotAllowed, "method_not_allowed", "POST a job")
		return
	case a.Token == "" || subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+a.Token)) != 1:
		writeAgentError(w, http.StatusUnauthorized, "unauthorized", "a valid agent token is required")
		return
	}
	var job AgentJob
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&job); err != nil {
		writeAgentError(w, http.StatusBadRequest, "bad_request", "job: "+err.Error())
		return
	}
	a.mu.Lock()
	if a.busy {
		a.mu.Unlock()
		writeAgentError(w, http.StatusConflict, "busy", "this agent is already running a job")
		return
	}
	a.busy = true
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.busy = false
		a.mu.Unlock()
	}()
	o := a.Load
	o.Sessions, o.ViewersPerSession, o.Transport, o.Duration = job.Sessions, job.ViewersPerSession, job.Transport, job.Duration
	o.Publish, o.BitrateBps, o.FPS = job.Publish, job.BitrateBps, job.FPS
	res, err := Load(r.Context(), o)
	if errors.Is(err, ErrLoadConfig) {
		writeAgentError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if err != nil {
		writeAgentError(w, http.StatusBadGateway, "load_failed", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// RunAgents splits job's sessions across the agents at urls (base URLs,
// http://host:port), runs the shares at once and merges the results.
// Merged p50 is the frame-weighted mean of the agents' p50s and p99 the
// highest agent p99, since the agents keep their samples.
func RunAgents(ctx context.Context, hc *http.Client, urls []string, token string, job AgentJob) (LoadResult, error) {
	if len(urls) == 0 || job.Sessions < len(urls) {
		return LoadResult{}, fmt.Errorf("%w: %d sessions cannot be shared by %d agents", ErrLoadConfig, job.Sessions, len(urls))
	}
	results := make([]LoadResult, len(urls))
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		share := job
		share.Sessions = job.Sessions / len(urls)
		if i < job.Sessions%len(urls) {
			share.Sessions++
		}
		wg.Go(func() { results[i], errs[i] = runAgent(ctx, hc, u, token, share) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return LoadResult{}, err
	}
	out := LoadResult{Transport: job.Transport, Agents: len(urls)}
	var weighted float64
	for _, r := range results {
		out.Sessions = append(out.Sessions, r.Sessions...)
		out.Viewers += r.Viewers
		out.Playing += r.Playing
		out.Frames += r.Frames
		out.Errors += r.Errors
		out.Rejoins += r.Rejoins
		out.P99Ms = max(out.P99Ms, r.P99Ms)
		out.DurationSeconds = max(out.DurationSeconds, r.DurationSeconds)
		weighted += r.P50Ms * float64(r.Frames)
	}
	if out.Frames > 0 {
		out.P50Ms = weighted / float64(out.Frames)
	}
	return out, nil
}

func runAgent(ctx context.Context, hc *http.Client, base, token string, job AgentJob) (LoadResult, error) {
	body, err := json.Marshal(job)
	if err != nil {
		return LoadResult{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+AgentPath, bytes.NewReader(body))
	if err != nil {
		return LoadResult{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return LoadResult{}, fmt.Errorf("bench: agent %s: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e agentError
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&e)
		return LoadResult{}, fmt.Errorf("bench: agent %s: %s: %s", base, resp.Status, e.Error.Message)
	}
	var res LoadResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return LoadResult{}, fmt.Errorf("bench: agent %s: %w", base, err)
	}
	return res, nil
}
