from ipnews.cli import main

if __name__ == "__main__":  # spawned extractor processes import this module too
    main()
