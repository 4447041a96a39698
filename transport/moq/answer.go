package moq

import "sync"

// answerOnce guards a peer's request that must get exactly one answer
// (OK or ERROR): a second Accept or Reject fails with ErrAlreadyAnswered.
type answerOnce struct {
	mu       sync.Mutex
	answered bool
}

func (a *answerOnce) answer() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.answered {
		return ErrAlreadyAnswered
	}
	a.answered = true
	return nil
}
