package placement

// picker keeps the best candidate seen so far. Candidates are ranked by RTT
// bucket (ascending), then within-bucket score (descending), then ID rank
// (ascending), which makes the result independent of node order.
//
// For nodes on the geographic model it never computes an RTT: once a best
// exists, a dot product at or below geoEdges[best+1] is in a worse bucket
// and skipped after one comparison; above geoEdges[best] it is in a better
// bucket, found by binary search; otherwise it is in the same bucket.
type picker struct {
	o      *origin
	best   int
	bucket int
	within float64
	rank   int32
}

func newPicker(o *origin) picker {
	return picker{o: o, best: -1}
}

// bucketFor returns the node's bucket less bonus buckets, or false when the
// node cannot beat the current best whatever its within score.
func (pk *picker) bucketFor(p *prepared, i int, bonus int) (int, bool) {
	np := &p.nodes[i]
	var b int
	if pk.o.useGeo(np) {
		dot := pk.o.x*np.x + pk.o.y*np.y + pk.o.z*np.z
		if pk.best >= 0 {
			bb := pk.bucket + bonus // best bucket in this node's unshifted terms
			switch {
			case bb < 0: // geographic buckets are never negative
				return 0, false
			case bb+1 < len(geoEdges) && dot <= geoEdges[bb+1]:
				return 0, false
			case bb < len(geoEdges) && dot <= geoEdges[bb]:
				return pk.bucket, true
			}
		}
		b = geoBucket(dot) - bonus
	} else {
		b = pk.o.bucket(p, i) - bonus
	}
	if pk.best >= 0 && b > pk.bucket {
		return 0, false
	}
	return b, true
}

// consider offers node i with its bucket and within score and reports
// whether it became the best.
func (pk *picker) consider(i int, rank int32, bucket int, within float64) bool {
	if pk.best >= 0 {
		if bucket != pk.bucket {
			if bucket > pk.bucket {
				return false
			}
		} else if within != pk.within {
			if within < pk.within {
				return false
			}
		} else if rank > pk.rank {
			return false
		}
	}
	pk.best, pk.bucket, pk.within, pk.rank = i, bucket, within, rank
	return true
}
