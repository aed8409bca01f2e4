// Package serial runs jobs one at a time, in order, on a goroutine that
// exists only while there are jobs: the per-socket event queue of the
// server and of the client.
package serial

import "sync"

// Queue is a FIFO of jobs. The zero Queue is ready to use.
type Queue struct {
	mu      sync.Mutex
	jobs    []func()
	running bool
}

// Push adds job, starting the queue's goroutine when it is idle.
func (q *Queue) Push(job func()) { q.TryPush(job, 0) }

// TryPush is Push unless max > 0 and max jobs are already waiting, in
// which case it returns false and drops job.
func (q *Queue) TryPush(job func(), max int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if max > 0 && len(q.jobs) >= max {
		return false
	}
	q.jobs = append(q.jobs, job)
	if !q.running {
		q.running = true
		go q.run()
	}
	return true
}

func (q *Queue) run() {
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.running = false
			q.jobs = nil // release the backing array while idle
			q.mu.Unlock()
			return
		}
		job := q.jobs[0]
		q.jobs[0] = nil
		q.jobs = q.jobs[1:]
		q.mu.Unlock()
		job()
	}
}
