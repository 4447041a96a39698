// Package archtest holds the test that keeps the import graph inside the
// layout table of the design (which top-level package may import which).
// It is a package of its own, with no code, so the rule runs with the
// other tests and belongs to no package it judges.
package archtest
