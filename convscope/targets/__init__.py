"""Hardware target profiles (`rules/profiles/*.yaml`) and the roofline they describe."""
