"""Rewards: coupons, loyalty points and referrals (issue: loyalty, referrals, offers)."""
