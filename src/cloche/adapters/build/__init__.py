"""Building wheels from sdists, source trees and VCS checkouts through PEP 517 backends."""
