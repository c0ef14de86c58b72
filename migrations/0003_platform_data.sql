CREATE TABLE `backfill_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`account_id` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`cursor` text,
	`pages_fetched` integer DEFAULT 0 NOT NULL,
	`posts_imported` integer DEFAULT 0 NOT NULL,
	`progress` real,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_run_at` integer,
	`lease_id` text,
	`lease_until` integer,
	`error_code` text,
	`error_message` text,
	`started_at` integer,
	`finished_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `backfill_jobs_due_idx` ON `backfill_jobs` (`status`,`next_run_at`);--> statement-breakpoint
CREATE INDEX `backfill_jobs_account_idx` ON `backfill_jobs` (`account_id`,`id`);--> statement-breakpoint
CREATE TABLE `post_metrics` (
	`account_id` text NOT NULL,
	`platform_post_id` text NOT NULL,
	`workspace_id` text NOT NULL,
	`platform` text NOT NULL,
	`published_at` integer NOT NULL,
	`impressions` integer,
	`reach` integer,
	`likes` integer,
	`comments` integer,
	`shares` integer,
	`saves` integer,
	`video_views` integer,
	`imported_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `platform_post_id`),
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `post_metrics_account_time_idx` ON `post_metrics` (`account_id`,`published_at`);