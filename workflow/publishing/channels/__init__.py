"""The channels: portal (the site), notice_board (PDF per village), broadcast (a script), webhook (the county)."""
