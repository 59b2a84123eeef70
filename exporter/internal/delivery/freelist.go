package delivery

// freeList keeps up to a few values for reuse, across garbage collections.
// A sync.Pool is emptied by every GC cycle, and a collector runs several
// between two sends of a batching queue (about one a second): the body,
// the scratch state and the gzip writer of each send were then allocated
// anew, and the buffers grown from nothing, nearly every time. What the
// list keeps is bounded by its size.
type freeList[T any] struct {
	ch    chan T
	fresh func() T
}

func newFreeList[T any](size int, fresh func() T) *freeList[T] {
	return &freeList[T]{ch: make(chan T, size), fresh: fresh}
}

func (f *freeList[T]) get() T {
	select {
	case v := <-f.ch:
		return v
	default:
		return f.fresh()
	}
}

// put keeps v, unless the list is full: then v is left to the GC.
func (f *freeList[T]) put(v T) {
	select {
	case f.ch <- v:
	default:
	}
}
